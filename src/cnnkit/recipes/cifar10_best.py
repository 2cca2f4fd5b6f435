"""``cifar10-best``: airbench94's network, aimed at 93 % on the CIFAR-10 JPEGs in 30 minutes
on 2 CPU cores.

airbench94 (Keller Jordan 2024) at its full widths, 64, 256 and 256 channels
(cifar10_net.py: fixed whitening, three conv-pool-BN-GELU blocks, 1.97 million weights),
trained as ``cifar10-fast`` is (the settings below are the ones that differ) but half
again as long. Untuned: the shared machine of its tuning had no time for a full run (cut
to 3 epochs it reached 83.8 %); the curve, and what 93 % would most likely need, are in
docs/performance.md ("Recipes") and benchmarks/cifar10_recipe_trials.md.
"""

from __future__ import annotations

from dataclasses import replace

from .cifar10_fast import RECIPE as FAST
from .cifar10_net import airbench_net
from .recipe import Published

WIDTHS = (64, 256, 256)  # channels of the three blocks, airbench94's


def build(input_shape: tuple[int, int, int], num_classes: int):
    """airbench94's network (widths 64-256-256)."""
    return airbench_net(input_shape, num_classes, WIDTHS, name="cifar10_best")


RECIPE = replace(
    FAST,                                # every other setting as in cifar10-fast
    name="cifar10-best",
    summary="airbench94 net (64-256-256), whitening, Nesterov SGD one cycle, "
            "label smoothing 0.2, flips + 2 px shifts, flip TTA",
    build=build,
    epochs=15,                           # passes over the 50,000 training images
    target=0.93,                         # test accuracy (issue 21)
    budget=1800.0,                       # s from process start, 2 idle cores
    measured="not run in full (3 epochs: 83.82 %)",
    published=(
        Published("airbench94 (Jordan 2024), same widths, 9.9 epochs, lookahead, "
                  "flip + shift TTA", 0.9401, "3.8 s on an A100"),
        Published("airbench96 (Jordan 2024), wider, residual", 0.9605, "46 s on an A100"),
    ),
)
