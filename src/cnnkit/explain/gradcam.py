"""Grad-CAM and vanilla-gradient saliency: where in the image the model looked for a class.

Both differentiate the class *score* (the last layer's output before its softmax or
sigmoid: the logit, the usual choice for Grad-CAM) with torch autograd, in one backward
pass:

- Grad-CAM (Selvaraju et al., 2017) weights each map of a convolutional layer by the mean
  gradient of the score over that map, sums the weighted maps, keeps the positive part and
  scales it up bilinearly to the image size, each cell placed on the centre of its
  receptive field (:mod:`.receptive`). Coarse, but class-specific.
- The saliency map (Simonyan et al., 2014) is the largest absolute gradient of the score
  over the input pixel's channels: which pixels would change the score most. Sharp, noisy.

Both are scaled to [0, 1]. Weights are left untouched (no gradients are stored on them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from matplotlib.figure import Figure

from .. import activations
from ..errors import ConfigError, LayerError
from ..layers import Activation, BatchNormalization
from .figures import Panel, panels
from .filters import CONV_LAYERS
from .images import model_input
from .receptive import cell_centres, upsample
from .zoo_maps import cell_centres as zoo_centres
from .zoo_maps import logits_and_maps, zoo_network

OVERLAY_ALPHA = 0.45
HEAT_CMAP = "jet"


@dataclass
class GradCam:
    """The explanation of one prediction."""

    heatmap: np.ndarray  # float32 (H, W) in [0, 1] at the image's size
    saliency: np.ndarray  # float32 (H, W) in [0, 1]
    class_index: int  # the class explained
    probabilities: np.ndarray  # the model's probabilities for the image, one per class
    layer: str  # the layer whose maps Grad-CAM weighted


def default_layer(model) -> str:
    """The last convolution layer with (H, W, C) output, moved on past the
    BatchNormalization and Activation layers right after it, so the maps are those the
    next layer sees (after the ReLU)."""
    if not model.built:
        model.build()
    layers, shapes = model.layers, model.net.shapes
    found = [i for i, (layer, shape) in enumerate(zip(layers, shapes, strict=True))
             if isinstance(layer, CONV_LAYERS) and len(shape) == 3]
    if not found:
        raise LayerError(f"model {model.name!r} has no convolution layer with (height, width, "
                         "channels) output for Grad-CAM", hint="name a layer with layer=")
    index = found[-1]
    while index + 1 < len(layers) and isinstance(layers[index + 1],
                                                 (BatchNormalization, Activation)):
        index += 1
    return layers[index].name


def _target_layer(model, layer: str | None) -> str:
    """``layer``, checked to output maps before the classifier, or the default."""
    if layer is None:
        return default_layer(model)
    model.get_layer(layer)  # an unknown name raises, listing the layers
    index = model.net.names.index(layer)
    shape = model.net.shapes[index]
    if len(shape) != 3 or model.get_layer(layer) is model.net.nodes[model.net.output].layer:
        raise LayerError(f"Grad-CAM needs a layer with (height, width, channels) output "
                         f"before the classifier; {layer!r} outputs {shape}",
                         hint=f"the default is {default_layer(model)!r}")
    return layer


def _class_scores(model, logits: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """One score per class (a single unit ``z`` gives ``[-z, z]``) and the probabilities,
    one per class: the model's softmax or sigmoid, or one applied to its logits when the
    last layer has no activation (a model trained with ``from_logits=True``)."""
    activation = model.final_activation
    if activation in (None, "linear"):
        activation = "sigmoid" if logits.shape[1] == 1 else "softmax"
    output = activations.get(activation)(logits.detach())[0].numpy()
    if logits.shape[1] == 1:
        return torch.cat([-logits, logits], dim=1)[0], np.array([1.0 - output[0], output[0]])
    return logits[0], output


def _unit(values: np.ndarray) -> np.ndarray:
    """Scaled so the largest value is 1 (all zeros stay zeros), as float32."""
    top = float(values.max())
    return (values / top if top > 0 else np.zeros_like(values)).astype(np.float32)


def gradcam(model, image: np.ndarray, class_index: int | None = None,
            layer: str | None = None) -> GradCam:
    """Grad-CAM and saliency for one ``(H, W, C)`` image at the model's input size.

    ``class_index`` defaults to the predicted class; ``layer`` to :func:`default_layer`, or
    for a zoo network (a ModuleModel, alone or as a layer) to its last feature maps
    (explain/zoo_maps.py). The model's output must be one vector of class scores.
    """
    if not model.built:
        model.build()
    output_shape = model.net.output_shape
    if len(output_shape) != 1:
        raise LayerError(f"model {model.name!r} outputs {output_shape}, not one "
                         "score per class")
    network = zoo_network(model)
    zoo_maps = network is not None and layer in (None, network.name)
    target = network.name if zoo_maps else _target_layer(model, layer)
    net = model.net.eval()
    with torch.enable_grad():
        x = model_input(model, image).requires_grad_(True)
        if zoo_maps:
            logits, maps = logits_and_maps(model, network, x)
        else:
            logits, outputs = net.logits_and_features(x, {target})
            maps = outputs[target]
        scores, probabilities = _class_scores(model, logits)
        if class_index is None:
            class_index = int(np.argmax(probabilities))
        if not 0 <= class_index < len(scores):
            raise ConfigError(f"class index {class_index} is out of range: the model has "
                              f"{len(scores)} classes")
        map_grads, input_grads = torch.autograd.grad(scores[class_index], [maps, x])
    with torch.no_grad():
        weights = map_grads.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * maps).sum(dim=1))[0].float().numpy()
        saliency = input_grads.abs().amax(dim=1)[0].numpy()
    size = tuple(x.shape[2:])
    centres = (zoo_centres(size, cam.shape) if zoo_maps else cell_centres(model, target))
    heatmap = upsample(cam, size, centres)
    return GradCam(_unit(heatmap), _unit(saliency), class_index, probabilities, target)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = OVERLAY_ALPHA
            ) -> np.ndarray:
    """RGB uint8: a uint8 ``(H, W, C)`` image (grayscale made RGB) with ``heatmap`` (values
    in [0, 1]) blended over it in the jet colours (blue cold, red hot)."""
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels
    rgb = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels[..., :3]
    heat = colormaps[HEAT_CMAP](np.clip(heatmap, 0.0, 1.0))[..., :3] * 255.0
    return np.rint((1.0 - alpha) * rgb + alpha * heat).astype(np.uint8)


def gradcam_overlay(model, image: np.ndarray, class_index: int | None = None) -> np.ndarray:
    """The Grad-CAM heatmap of one uint8 ``(H, W, C)`` image at the model's input size,
    blended over it: an RGB uint8 ``(H, W, 3)`` array (for reports)."""
    return overlay(image, gradcam(model, image, class_index).heatmap)


def gradcam_figure(image: np.ndarray, result: GradCam,
                   class_names: list[str] | None = None) -> Figure:
    """The uint8 image, its Grad-CAM overlay and its saliency map side by side, titled with
    the predicted class, its probability and the class explained."""
    names = class_names or [str(i) for i in range(len(result.probabilities))]
    predicted = int(np.argmax(result.probabilities))
    title = (f"predicted {names[predicted]} ({result.probabilities[predicted]:.0%}); "
             f"explaining {names[result.class_index]} "
             f"({result.probabilities[result.class_index]:.0%})")
    return panels([Panel(np.asarray(image), "image"),
                   Panel(overlay(image, result.heatmap), f"Grad-CAM on {result.layer}"),
                   Panel(result.saliency, "saliency |d score / d pixel|", "hot", (0.0, 1.0))],
                  title)
