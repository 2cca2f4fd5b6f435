"""`Sequential`: a linear stack of layers, the special case of :class:`Model` whose
graph is a line."""

from __future__ import annotations

from typing import Any

from .. import layers as layer_lib
from ..errors import LayerError, ShapeError
from .graph import Graph, line
from .model import Model


class Sequential(Model):
    """A linear stack of layers, used exactly like ``keras.Sequential``.

    The model is built from an ``Input`` layer, from the first layer's ``input_shape``, or
    from the first data it sees. Images are ``(H, W, C)`` at the surface; inside, tensors
    are NCHW in channels_last memory format. A model is a layer too: it can be a layer of
    another model (models/model_layer.py).
    """

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None):
        self._init_model(name or layer_lib.unique_name("sequential"), trainable)
        for layer in layers or []:
            self.add(layer)

    # -- structure -----------------------------------------------------------------------
    def add(self, layer) -> None:
        """Append a layer (an ``Input`` only sets the input shape)."""
        if isinstance(layer, layer_lib.KerasTensor) and isinstance(layer.layer, layer_lib.Input):
            layer = layer.layer  # keras.Input(shape) as the first entry, as Keras 3 takes it
        if not isinstance(layer, layer_lib.Layer):
            raise LayerError(f"Sequential.add() takes a cnnkit layer, got {type(layer).__name__}",
                             hint="use layers from cnnkit.keras.layers (e.g. layers.Conv2D) "
                                  "or a cnnkit Sequential model")
        if layer is self:
            raise LayerError(f"model {self.name!r} cannot be a layer of itself")
        if isinstance(layer, layer_lib.Input):
            if self._layers:
                raise LayerError("Input must be the first layer of a Sequential model")
            self._input_shape = tuple(layer.shape)
            return
        if any(existing.name == layer.name for existing in self._layers):
            raise LayerError(f"two layers are named {layer.name!r}",
                             hint="layer names must be unique within a model")
        declared = layer.declared_input_shape()
        if not self._layers and self._input_shape is None and declared is not None:
            self._input_shape = tuple(declared)
        self._layers.append(layer)
        self.net = None
        if self._input_shape is not None:
            self.build()

    def pop(self):
        """Remove and return the last layer."""
        if not self._layers:
            raise LayerError("pop() on a model with no layers")
        layer = self._layers.pop()
        self.net = None
        if self._layers and self._input_shape is not None:
            self.build()
        return layer

    def graph(self) -> Graph:
        """The line of layers."""
        return line(self._layers)

    def _output_layer(self):
        return self._layers[-1] if self._layers else None

    def build(self, input_shape=None) -> None:
        """Create the network for ``input_shape`` (``(H, W, C)``, a leading ``None`` is
        allowed). Raises a LayerError naming the layer where the shapes stop working."""
        if input_shape is not None:
            shape = tuple(input_shape)
            self._input_shape = shape[1:] if len(shape) == 4 else shape
        if self._input_shape is None:
            raise ShapeError(f"model {self.name!r} does not know its input shape yet",
                             hint="start with layers.Input((H, W, C)), pass input_shape= to "
                                  "the first layer, or call build((H, W, C))")
        if not self._layers:
            raise LayerError(f"model {self.name!r} has no layers")
        self._build_network()

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self) -> dict[str, Any]:
        """Name, trainable flag, input shape (if known) and the layers' configs."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "layers": [layer_lib.serialize(layer)
                                             for layer in self._layers]}
        if self._input_shape is not None:
            config["input_shape"] = list(self._input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        """A model from :meth:`get_config` output (built when its input shape is known)."""
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config.get("layers", []):
            model.add(layer_lib.deserialize(layer_config))
        if config.get("input_shape") and model._input_shape is None:
            model.build(tuple(config["input_shape"]))
        return model
