"""Batches of real images from the embedded Fashion-MNIST slice, as a network takes them."""

from __future__ import annotations

import torch

from cnnkit import data
from cnnkit.train.batches import Preprocess, to_tensor


def real_batch(count: int = 32, channels: int = 1) -> torch.Tensor:
    """``count`` images, NCHW float in channels_last memory; with more than one channel,
    each image's channels are different real images."""
    images = data.load("fashion-mnist-mini").images[:channels * count]
    images = images.reshape(count, channels, 28, 28).transpose(0, 2, 3, 1)
    return to_tensor(images.copy(), Preprocess())
