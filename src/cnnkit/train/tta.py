"""Test-time augmentation (a cnnkit extension of ``predict`` and ``evaluate``): ``tta="flip"``
averages the model's output (after its output activation: probabilities) for each image and
for its mirror image (left-right). Image-shaped outputs of the mirror are mirrored back
before averaging."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import ConfigError

TTA_MODES = (None, "flip")


def check_tta(value) -> str | None:
    """``value`` if it is a valid ``tta`` setting (None or ``"flip"``); a ConfigError
    otherwise."""
    if value not in TTA_MODES:
        raise ConfigError(f"tta={value!r} is not a valid setting",
                          hint="tta='flip' averages each image's and its mirror image's "
                               "output; None (the default) predicts on the image alone")
    return value


def flip_average(forward: Callable[[torch.Tensor], torch.Tensor],
                 activation: Callable[[torch.Tensor], torch.Tensor]
                 ) -> Callable[[torch.Tensor], torch.Tensor]:
    """A forward pass giving the mean of ``activation(forward(x))`` over ``x`` and ``x``
    mirrored left-right (NCHW batches)."""

    def averaged(x: torch.Tensor) -> torch.Tensor:
        plain = activation(forward(x).float())
        mirrored = activation(forward(x.flip(3)).float())
        if mirrored.dim() == 4:
            mirrored = mirrored.flip(3)
        return (plain + mirrored) / 2

    return averaged
