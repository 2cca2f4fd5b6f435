"""Keras-named layers that build torch modules.

Every layer takes Keras's arguments and defaults, infers channels-last shapes with
``compute_output_shape`` and builds its torch module (without its activation) with
``build_module``; see :class:`cnnkit.layers.base.Layer` for the full interface.
"""

from __future__ import annotations

from typing import Any

from cnnkit.errors import LayerError
from cnnkit.layers.activation_layers import LeakyReLU, ReLU, Softmax
from cnnkit.layers.augment import (
    RandomContrast,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from cnnkit.layers.base import Layer, get, register_alias, reset_name_counters, unique_name
from cnnkit.layers.conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from cnnkit.layers.core import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    Input,
    Rescaling,
    SpatialDropout2D,
    ZeroPadding2D,
)
from cnnkit.layers.cropping import Cropping2D
from cnnkit.layers.merge import (
    Add,
    Average,
    Concatenate,
    Multiply,
    add,
    average,
    concatenate,
    multiply,
)
from cnnkit.layers.normalization import BatchNormalization
from cnnkit.layers.pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from cnnkit.layers.preprocessing import Normalization
from cnnkit.layers.reshape import Reshape
from cnnkit.layers.resize import Resizing
from cnnkit.layers.symbolic import KerasTensor
from cnnkit.layers.whitening import PatchWhitening

InputLayer = Input

# Keras's second names for the same classes (summaries and configs use the first name).
Convolution2D = Conv2D
SeparableConvolution2D = SeparableConv2D
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
for _alias, _cls in (("Convolution2D", Conv2D), ("SeparableConvolution2D", SeparableConv2D),
                     ("MaxPool2D", MaxPooling2D), ("AvgPool2D", AveragePooling2D),
                     ("GlobalAvgPool2D", GlobalAveragePooling2D),
                     ("GlobalMaxPool2D", GlobalMaxPooling2D)):
    register_alias(_alias, _cls)


def serialize(layer: Layer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``, the Keras form; see :func:`deserialize`."""
    return {"class_name": layer.keras_name, "config": layer.get_config()}


def deserialize(config: dict[str, Any]) -> Layer:
    """A layer from :func:`serialize` output or a Keras layer config.

    Extra Keras keys (``module``, ``registered_name``, ``build_config``) are ignored; an
    unknown class name raises :class:`LayerError` suggesting the closest.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise LayerError(f"a layer config needs 'class_name' and 'config', got {config!r}")
    return get(config["class_name"]).from_config(dict(config.get("config") or {}))


__all__ = [
    "Activation", "Add", "Average", "AveragePooling2D", "AvgPool2D", "BatchNormalization",
    "Concatenate", "Conv2D", "Convolution2D", "Cropping2D", "Dense", "DepthwiseConv2D",
    "Dropout", "Flatten",
    "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalMaxPooling2D",
    "Input", "InputLayer", "KerasTensor",
    "Layer", "LayerError", "LeakyReLU", "MaxPool2D", "MaxPooling2D", "Multiply", "Normalization",
    "PatchWhitening",
    "RandomContrast", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "ReLU",
    "Rescaling", "Reshape", "Resizing", "SeparableConv2D", "SeparableConvolution2D", "Softmax",
    "SpatialDropout2D", "ZeroPadding2D", "add", "average", "concatenate", "deserialize", "get",
    "multiply",
    "reset_name_counters", "serialize", "unique_name",
]
