"""Batches of real images from the embedded Fashion-MNIST slice, as a network takes them,
and the thread-split check the hand-written kernels' tests share."""

from __future__ import annotations

import torch

from cnnkit import data
from cnnkit.models.preprocess import Preprocess, to_tensor


def real_batch(count: int = 32, channels: int = 1) -> torch.Tensor:
    """``count`` images, NCHW float in channels_last memory; with more than one channel,
    each image's channels are different real images."""
    images = data.load("fashion-mnist-mini").images[:channels * count]
    images = images.reshape(count, channels, 28, 28).transpose(0, 2, 3, 1)
    return to_tensor(images.copy(), Preprocess())


def assert_repeats_and_matches_one_thread(run) -> None:
    """``run()`` (a kernel's outputs and gradients, a tuple of tensors) on one thread, then
    twice on two: the two-thread results are identical (the same split sums in the same
    order) and within rounding of the one-thread ones."""
    before = torch.get_num_threads()
    results = {}
    try:
        for threads in (1, 2, 2):
            torch.set_num_threads(threads)
            results.setdefault(threads, []).append(run())
    finally:
        torch.set_num_threads(before)
    for first, again in zip(*results[2], strict=True):
        assert torch.equal(first, again)
    for one, two in zip(results[1][0], results[2][0], strict=True):
        torch.testing.assert_close(one, two, rtol=1e-5, atol=1e-5 * one.abs().max().item())
