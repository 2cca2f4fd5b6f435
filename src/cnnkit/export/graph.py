"""The exported graph: the model's network behind its own preprocessing, so the file takes
the uint8 ``(N, H, W, C)`` pixels a user has and gives what ``model.predict`` gives.

Works for any model that exposes ``net`` (a torch module taking NCHW float input),
``input_shape`` (``(None, H, W, C)``), ``preprocess`` (scale and offset for uint8 pixels)
and ``class_names``; the network's ``output_activation`` (the softmax fused into the loss
during training) is applied when it has one.
"""

from __future__ import annotations

import json

import torch
from torch import nn

from .. import __version__
from ..errors import CnnkitError

INPUT_DTYPES = ("uint8", "float32")
INPUT_NAME = "images"
OUTPUT_NAME = "outputs"


class ExportError(CnnkitError):
    """A model that cannot be exported, or an export that does not match the model."""

    exit_code = 10


class ImageGraph(nn.Module):
    """uint8 (or float32) NHWC images in, the model's outputs out (NHWC for image outputs).

    uint8 pixels become ``x * scale + offset`` inside the graph, as ``model.predict`` scales
    them; float32 input passes unchanged, as Keras's exported models take it."""

    def __init__(self, net: nn.Module, scale: float, offset: float, input_dtype: str):
        super().__init__()
        self.net = net
        self.scale = float(scale)
        self.offset = float(offset)
        self.scaled = input_dtype == "uint8"
        self.output_activation = getattr(net, "output_activation", None) or nn.Identity()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Outputs for a batch of NHWC images."""
        x = images.to(torch.float32)
        if self.scaled:
            x = x * self.scale + self.offset
        x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        out = self.output_activation(self.net(x))
        return out.permute(0, 2, 3, 1) if out.dim() == 4 else out


def image_shape(model) -> tuple[int, ...]:
    """The model's ``(H, W, C)`` input shape."""
    return tuple(int(d) for d in model.input_shape[1:])


def image_graph(model, input_dtype: str = "uint8") -> ImageGraph:
    """The model's network wrapped in its preprocessing, in inference mode."""
    if input_dtype not in INPUT_DTYPES:
        raise ExportError(f"input_dtype={input_dtype!r} is not supported",
                          hint="use 'uint8' (pixels 0..255, scaled inside the graph) or "
                               "'float32' (the values model(x) takes, unscaled)")
    if not model.built:
        model.build()
    pre = model.preprocess
    return ImageGraph(model.net, pre.scale, pre.offset, input_dtype).eval()


def metadata(model, input_dtype: str, batch: int | None) -> dict:
    """What a program using the file needs to know: its input exactly, the preprocessing
    inside it, what it outputs and the class names."""
    height, width, channels = image_shape(model)
    pre = model.preprocess
    return {
        "format": "cnnkit-export", "cnnkit_version": __version__, "model_name": model.name,
        "class_names": model.class_names,
        "input": {"name": INPUT_NAME, "dtype": input_dtype, "layout": "NHWC",
                  "shape": [batch if batch else "batch", height, width, channels]},
        "preprocessing": {
            "inside_graph": input_dtype == "uint8", "scale": pre.scale, "offset": pre.offset,
            "formula": "x * scale + offset on uint8 pixels" if input_dtype == "uint8"
            else "none: give the float values model(x) takes",
            "resize": f"scale to cover {height}x{width} keeping the aspect ratio, crop the "
                      f"centre, bilinear; {'grayscale' if channels == 1 else 'RGB'} "
                      "(cnnkit.data.decode.decode)"},
        "output": {"name": OUTPUT_NAME,
                   "meaning": "what model.predict returns: probabilities after the last "
                              "layer's softmax/sigmoid (logits if it has none)"},
    }


def metadata_json(model, input_dtype: str, batch: int | None) -> str:
    """:func:`metadata` as JSON text."""
    return json.dumps(metadata(model, input_dtype, batch))
