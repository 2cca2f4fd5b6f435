"""A model's graph: which layer call (node) takes which earlier node's output.

A ``Sequential`` model's graph is a line (:func:`line`); a functional ``Model``'s is traced
back from its output tensor to its ``Input`` (:func:`trace`), in the order Keras 3 uses
for ``model.layers`` and ``summary()``: by depth from the output, deepest (the input)
first, and among layers of one depth in the order the walk from the output met them.
That order is also a valid order to compute the nodes in, since every node is deeper
than the nodes that consume it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import LayerError
from ..layers.symbolic import KerasTensor

INPUT = -1  # a node input that is the model's input batch


@dataclass(frozen=True)
class Node:
    """One call of ``layer`` on the outputs of the nodes at positions ``inputs`` (or on the
    model's input, :data:`INPUT`); ``index`` is Keras's node index of the call."""

    layer: object
    inputs: tuple[int, ...]
    index: int = 0


@dataclass(frozen=True)
class Graph:
    """Nodes in an order that computes each after its inputs; ``layers`` in Keras's order
    (each once); ``output`` the position of the node whose output the model returns."""

    nodes: tuple[Node, ...]
    layers: tuple
    output: int

    @property
    def is_line(self) -> bool:
        """True when each node takes the previous one's output (a Sequential's shape)."""
        return all(node.inputs == (pos - 1 if pos else INPUT,)
                   for pos, node in enumerate(self.nodes))


def line(layers) -> Graph:
    """A graph in which each layer takes the previous layer's output."""
    nodes = tuple(Node(layer, (pos - 1 if pos else INPUT,)) for pos, layer in enumerate(layers))
    return Graph(nodes, tuple(layers), len(nodes) - 1)


def trace(inputs: KerasTensor, outputs: KerasTensor) -> Graph:
    """The graph between a functional model's input and output tensors (Keras's
    ``map_graph``). Raises a LayerError when the output does not depend on the input
    alone."""
    order: list[KerasTensor] = []  # finished tensors, inputs before their consumers
    met: dict[int, int] = {}  # id(layer) -> order in which the walk met it
    _walk(outputs, inputs, order, set(), met)
    if inputs not in order:
        raise LayerError(f"the output {outputs!r} was not computed from the input {inputs!r}",
                         hint="pass the tensor returned by layers.Input(...) as inputs= and the "
                              "last layer's result as outputs=")
    depth = {id(outputs): 0}
    layer_depth: dict[int, int] = {}
    for tensor in reversed(order):
        d = max(depth.setdefault(id(tensor), 0), layer_depth.get(id(tensor.layer), 0))
        depth[id(tensor)] = layer_depth[id(tensor.layer)] = d
        for parent in tensor.inputs if tensor is not inputs else ():
            depth[id(parent)] = max(depth.get(id(parent), 0), d + 1)
    ranked = sorted(order, key=lambda t: (-depth[id(t)], met[id(t.layer)], t.node_index))
    position = {id(t): pos for pos, t in enumerate(ranked)}
    nodes = tuple(Node(t.layer, (INPUT,) if t is inputs else
                       tuple(position[id(p)] for p in t.inputs), t.node_index)
                  for t in ranked)
    layers = sorted({id(t.layer): t.layer for t in order}.values(),
                    key=lambda lay: (-layer_depth[id(lay)], met[id(lay)]))
    _check_names(layers)
    return Graph(nodes, tuple(layers), position[id(outputs)])


def _walk(tensor: KerasTensor, stop: KerasTensor, order: list, active: set, met: dict) -> None:
    if tensor in order:
        return
    if id(tensor) in active:
        raise LayerError("the layer graph has a cycle")
    met.setdefault(id(tensor.layer), len(met))
    active.add(id(tensor))
    if tensor is not stop:
        if not tensor.inputs:
            raise LayerError(f"the output depends on input {tensor.layer.name!r}, which is "
                             "not the model's input",
                             hint="a model takes one Input; build every branch from it")
        for parent in tensor.inputs:
            _walk(parent, stop, order, active, met)
    active.discard(id(tensor))
    order.append(tensor)


def _check_names(layers) -> None:
    seen = set()
    for layer in layers:
        if layer.name in seen:
            raise LayerError(f"two layers are named {layer.name!r}",
                             hint="layer names must be unique within a model")
        seen.add(layer.name)
