"""Symbolic tensors: calling layers on them records a graph, as Keras's functional API.

``x = layers.Input((32, 32, 3))`` stands for the model's input; ``y = Conv2D(8, 3)(x)``
computes nothing, it returns a :class:`KerasTensor` that remembers which layer made it
from which tensors (its *history*); ``Model(inputs=x, outputs=y)`` then walks that history
back to the input (models/graph.py). Shapes are inferred at each call, so a layer that
does not fit its input fails on the line that calls it, as in Keras. Each call of a layer
is one of its *nodes*, numbered from 0 (Keras's ``node_index``, shown in ``summary()`` as
``conv2d[0][0]``); a layer called twice shares its weights between both nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, eq=False)
class KerasTensor:
    """The symbolic output of one layer call: its shape and where it came from.

    ``layer`` made it at its ``node_index``-th call from ``inputs`` (empty for an ``Input``).
    """

    sample_shape: tuple[int, ...]
    layer: Any
    node_index: int
    inputs: tuple[KerasTensor, ...] = ()

    @property
    def shape(self) -> tuple:
        """``(None, ...)``: the batch axis first, unknown, as Keras shows it."""
        return (None, *self.sample_shape)

    @property
    def ndim(self) -> int:
        """Rank with the batch axis."""
        return len(self.sample_shape) + 1

    def __repr__(self) -> str:
        return (f"<KerasTensor shape={self.shape}, name={self.layer.name}, "
                f"node={self.node_index}>")


def symbolic_inputs(inputs: Any) -> tuple[KerasTensor, ...] | None:
    """The symbolic tensors in ``inputs`` (one, or a list for merge layers), or None when
    ``inputs`` holds real data. An ``Input`` layer stands for its own output tensor."""
    items = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
    found = [item if isinstance(item, KerasTensor) else getattr(item, "output", None)
             for item in items]
    if items and all(isinstance(item, KerasTensor) for item in found):
        return tuple(found)
    return None


def call_symbolic(layer: Any, inputs: Sequence[KerasTensor], many: bool) -> KerasTensor:
    """Record ``layer`` called on ``inputs`` (a list when ``many``), returning its output.

    Raises the layer's own shape error when the inputs do not fit it.
    """
    shapes = [tensor.sample_shape for tensor in inputs]
    shape = layer.compute_output_shape(shapes if many else shapes[0])
    node_index = layer.inbound_node_count
    layer.inbound_node_count += 1
    return KerasTensor(tuple(shape), layer, node_index, tuple(inputs))
