"""The kernels a convolution layer learned, as numbers and as pictures.

The first convolution of a model looks at pixels, so its filters can be drawn as small
images: in colour when the input is RGB (each filter scaled to its own min..max), on a
red (+) / blue (-) scale when it is grayscale. A deeper filter looks at many feature
maps at once, so it gets a picture of its own: one tile per input channel.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..errors import LayerError
from ..layers import Conv2D, DepthwiseConv2D, SeparableConv2D
from .figures import tile_grid

CONV_LAYERS = (Conv2D, DepthwiseConv2D, SeparableConv2D)
SIGNED_CMAP = "RdBu_r"


def conv_layer_names(model) -> list[str]:
    """The names of the model's convolution layers, in order."""
    return [layer.name for layer in model.layers if isinstance(layer, CONV_LAYERS)]


def conv_layer(model, name: str | None = None):
    """The convolution layer called ``name``, or the first one; a LayerError otherwise."""
    names = conv_layer_names(model)
    if not names:
        raise LayerError(f"model {model.name!r} has no convolution layer",
                         hint="filters belong to Conv2D, DepthwiseConv2D and SeparableConv2D "
                              "layers")
    if name is None:
        return model.get_layer(names[0])
    layer = model.get_layer(name)
    if not isinstance(layer, CONV_LAYERS):
        raise LayerError(f"layer {name!r} is a {type(layer).__name__}, not a convolution",
                         hint="convolution layers: " + ", ".join(names))
    return layer


def filter_weights(model, layer: str | None = None) -> np.ndarray:
    """The kernels of a convolution layer (the first one by default) as float32
    ``(filters, kh, kw, in)``.

    A Conv2D filter spans all its input channels (``in`` = input channels / groups); a
    depthwise filter, also the depthwise part of SeparableConv2D, sees one (``in`` = 1),
    in Keras's output-channel order.
    """
    if not model.built:
        model.build()
    found = conv_layer(model, layer)
    kernel = found.get_keras_weights(model.net.ops[found.name])[0]
    if isinstance(found, Conv2D):
        return kernel.transpose(3, 0, 1, 2)
    kh, kw, channels, multiplier = kernel.shape
    return kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, kh, kw, 1)


def _scaled_each(weights: np.ndarray) -> np.ndarray:
    """Each filter stretched from its own min..max to 0..1 (for RGB display)."""
    low = weights.min(axis=(1, 2, 3), keepdims=True)
    high = weights.max(axis=(1, 2, 3), keepdims=True)
    return (weights - low) / np.where(high > low, high - low, 1.0)


def _symmetric(weights: np.ndarray) -> tuple[float, float]:
    bound = float(np.abs(weights).max()) or 1.0
    return -bound, bound


def filter_figures(model, layer: str | None = None) -> list[Figure]:
    """Pictures of a convolution layer's kernels (the first layer by default).

    - Filters with one input channel: one grid, red positive and blue negative weights on
      a scale shared by all filters.
    - The first convolution on RGB input: one grid of colour images, each filter scaled to
      its own min..max (bright where the filter likes that colour).
    - Other layers: one figure per filter, a tile per input channel.
    """
    weights = filter_weights(model, layer)
    name = conv_layer(model, layer).name
    count, kh, kw, inputs = weights.shape
    size = f"{count} filters of {kh}x{kw}x{inputs}"
    if inputs == 1:
        return [tile_grid(weights[..., 0], f"{name}: {size} (red +, blue -)",
                          SIGNED_CMAP, _symmetric(weights))]
    if inputs == 3 and name == conv_layer_names(model)[0]:
        return [tile_grid(_scaled_each(weights), f"{name}: {size} in RGB (each filter "
                                                 "scaled to its own range)")]
    return [tile_grid(weights[i].transpose(2, 0, 1),
                      f"{name} filter {i}: {kh}x{kw} weights on each of {inputs} input "
                      "channels (red +, blue -)", SIGNED_CMAP, _symmetric(weights[i]))
            for i in range(count)]
