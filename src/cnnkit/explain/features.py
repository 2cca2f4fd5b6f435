"""Feature maps: what each convolution and pooling layer outputs for one image.

A layer's output (after its activation) is ``(H, W, C)``: C maps, one per filter, each
showing where in the image that filter found its pattern. The shapes are those
``model.summary()`` prints.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from ..errors import LayerError
from ..layers import AveragePooling2D, MaxPooling2D
from ..models.summary import format_shape
from .figures import tile_grid
from .filters import CONV_LAYERS
from .images import model_input

FEATURE_LAYERS = (*CONV_LAYERS, MaxPooling2D, AveragePooling2D)


def feature_layer_names(model) -> list[str]:
    """The convolution and pooling layers whose output is a stack of maps, in order."""
    if not model.built:
        model.build()
    return [layer.name for layer, shape in zip(model.layers, model.net.shapes, strict=True)
            if isinstance(layer, FEATURE_LAYERS) and len(shape) == 3]


def _checked(model, names: list[str]) -> list[str]:
    """``names`` in model order, each a layer whose output is (H, W, C)."""
    shapes = dict(zip(model.net.names, model.net.shapes, strict=True))
    for name in names:
        model.get_layer(name)  # an unknown name raises, listing the layers
        if len(shapes[name]) != 3:
            raise LayerError(f"layer {name!r} outputs shape {shapes[name]}, not maps",
                             hint="feature maps come from layers with (height, width, "
                                  "channels) output: " + ", ".join(feature_layer_names(model)))
    return [name for name in model.net.names if name in set(names)]


def feature_maps(model, image: np.ndarray, layers: list[str] | None = None
                 ) -> dict[str, np.ndarray]:
    """``{layer name: float32 (H, W, C) output}`` for one image, in layer order.

    ``image`` is ``(H, W, C)`` at the model's input size (uint8 pixels are scaled as in
    training). ``layers`` defaults to every convolution and pooling layer; any layer with
    an (H, W, C) output may be named.
    """
    if not model.built:
        model.build()
    names = _checked(model, feature_layer_names(model) if layers is None else list(layers))
    x = model_input(model, image)
    net = model.net.eval()
    with torch.inference_mode():
        outputs = net.features(x, set(names))
    return {name: outputs[name][0].permute(1, 2, 0).float().numpy() for name in names}


def feature_figures(model, image: np.ndarray, layers: list[str] | None = None
                    ) -> dict[str, Figure]:
    """``{layer name: Figure}``: each layer's maps as a grid, one tile per channel, titled
    with the layer's name, type and output shape (bright = strong response)."""
    figures = {}
    for name, maps in feature_maps(model, image, layers).items():
        kind = type(model.get_layer(name)).__name__
        title = f"{name} ({kind}): output {format_shape(maps.shape)}"
        figures[name] = tile_grid(maps.transpose(2, 0, 1), title, "viridis")
    return figures
