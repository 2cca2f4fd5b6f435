"""Grad-CAM on a network of the zoo (a :class:`~cnnkit.models.ModuleModel`, alone or as a
layer of a model): its maps are the network's last feature maps (``forward_features``'
output, before the pooling and the classifier), which hold no Keras layers to name."""

from __future__ import annotations

import torch

from ..models.module_model import ModuleModel

Axis = tuple[float, float]


def zoo_network(model) -> ModuleModel | None:
    """The ModuleModel that is ``model`` or its last ModuleModel layer, else None."""
    if isinstance(model, ModuleModel):
        return model
    found = [layer for layer in getattr(model, "layers", []) if isinstance(layer, ModuleModel)]
    return found[-1] if found else None


def logits_and_maps(model, network: ModuleModel, x: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The class scores (before the softmax) of ``model`` for ``x`` and ``network``'s
    last feature maps (NCHW), from one pass with autograd."""
    if model is network:
        net = network.net
        maps = net.module.forward_features(net.prepare(x))
        return net.module.forward_head(maps), maps
    with network.net.capture_features() as captured:
        logits, _ = model.net.logits_and_features(x, set())
    return logits, captured[-1]


def cell_centres(size: tuple[int, int], cells: tuple[int, int]) -> tuple[Axis, Axis]:
    """``(start, jump)`` per axis: the ``cells`` of a feature map spread evenly over an
    image of ``size`` (a deep network's cell sees the whole image; its stride places it)."""
    axes = []
    for side, count in zip(size, cells, strict=True):
        jump = side / count
        axes.append(((jump - 1) / 2, jump))
    return axes[0], axes[1]
