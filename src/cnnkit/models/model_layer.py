"""What makes a model a layer too, as in Keras: a ``Sequential`` inside another model.

``Sequential([data_augmentation, Conv2D(...), ...])`` uses a whole model as one layer: its
network is the outer network's module for that layer (the same torch modules, so the
weights are shared), ``summary()`` shows it as one row, its config nests the layers' configs
and ``trainable`` set on it reaches every layer inside, as Keras 3's setter does. A nested
model computes its declared output (a softmax is not fused into a loss there).

Freezing follows Keras 3: the flags are read whenever asked (``summary()``), but reach the
torch modules (``requires_grad``, batch norm's inference mode) only when the model is built
or compiled; a ``fit()`` after a change without ``compile()`` warns.
"""

from __future__ import annotations

import warnings

from torch import nn

from .. import layers as layer_lib
from ..errors import ShapeError


class ModelLayer(layer_lib.Layer):
    """The layer side of a model; the model provides ``_layers``, ``_input_shape``, ``net``
    (the built network, or None), ``build(shape)``, ``_output_shape(shape)``,
    ``_set_fusion()`` and its config."""

    _nested = False  # True once the model is a layer of another model
    _applied_trainable: list[bool] | None = None  # the flags of the last compile or build

    @property
    def trainable(self) -> bool:
        """Whether training may change the weights; setting it sets every layer's flag
        too, as in Keras 3 (it takes effect for ``fit()`` at the next ``compile()``)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    def declared_input_shape(self) -> tuple[int, ...] | None:
        """The model's input shape, if known."""
        return self._input_shape

    def leaf_layers(self) -> list:
        """The layers that compute the model, nested models opened, in order."""
        return [leaf for layer in self._layers for leaf in layer.leaf_layers()]

    def module_for(self, input_shape) -> nn.Module:
        """The model's network as a layer of another model (built for ``input_shape`` if
        it is not yet), computing the model's declared output."""
        shape = tuple(input_shape)
        self._nested = True
        if self.net is None or tuple(self._input_shape) != shape:
            self.build(shape)
        else:
            self._set_fusion()
        return self.net

    @property
    def built_module(self) -> nn.Module | None:
        """The model's network (None before it is built)."""
        return self.net

    def trainable_flags(self, trainable: bool) -> list[bool]:
        """Whether each leaf layer trains, given the model's own and its models' flags."""
        return [flag for layer in self._layers
                for flag in layer.trainable_flags(trainable and layer.trainable)]

    def _apply_trainable(self) -> None:
        """Make the layers' ``trainable`` flags the modules' (at build and compile, as
        Keras 3 takes them at compile)."""
        self.freeze_module(self.net, self.trainable)
        self._applied_trainable = self.trainable_flags(self.trainable)

    def _warn_if_trainable_changed(self) -> None:
        applied = self._applied_trainable
        if applied is not None and applied != self.trainable_flags(self.trainable):
            warnings.warn(f"model {self.name!r}: a layer's trainable flag changed after "
                          "compile(); as in Keras 3 it takes effect when you call compile() "
                          "again, so this fit() still trains the weights as compiled",
                          UserWarning, stacklevel=3)

    def freeze_module(self, module: nn.Module, trainable: bool) -> None:
        """Apply each layer's flag (and the model's, ``trainable``) to its module."""
        for layer in self._layers:
            layer.freeze_module(module.ops[layer.name], trainable and layer.trainable)

    def param_counts(self, module: nn.Module, trainable: bool) -> tuple[int, int]:
        """``(trainable, non-trainable)`` weight counts over the layers."""
        counts = [layer.param_counts(module.ops[layer.name], trainable and layer.trainable)
                  for layer in self._layers]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def get_keras_weights(self, module: nn.Module) -> list:
        """Every layer's weights, in layer order, in Keras layout."""
        return [weight for layer in self._layers
                for weight in layer.get_keras_weights(module.ops[layer.name])]

    def set_keras_weights(self, module: nn.Module, weights) -> None:
        """Load weights in Keras order and layout, layer by layer."""
        weights = list(weights)
        for layer in self._layers:
            count = len(layer.get_keras_weights(module.ops[layer.name]))
            layer.set_keras_weights(module.ops[layer.name], weights[:count])
            weights = weights[count:]
        if weights:
            raise ShapeError(f"set_weights got {len(weights)} more array(s) than model "
                             f"{self.name!r} has")
