"""One training batch's gradient, and how far two such gradients may differ by rounding
alone in each precision, for the tests of pieces and shares."""

from __future__ import annotations

import math

import numpy as np
import torch

from cnnkit import zoo
from fit_threads import fit_on_threads

# fp32: a first-layer weight of the MNIST tutorial CNN sums 128 images x 26 x 26 positions;
# summed in two orders, such a sum's rounding error grows like sqrt(terms) units of fp32's
# roundoff (2^-24). bf16 autocast rounds each operand to bf16's 8-bit significand (roundoff
# 2^-8) and sums in fp32: each gradient is within that of the exact one, so two are within
# twice it. A piece weighted 10 % wrong moves the gradient by 3e-2 in either precision.
TERMS = 128 * 26 * 26
RELATIVE_TOLERANCE = {"fp32": math.sqrt(TERMS) * 2.0**-24, "bf16": 2 * 2.0**-8}


def batch_gradient(images: np.ndarray, labels: np.ndarray, precision: str,
                   cores: int = 1) -> list[torch.Tensor]:
    """The gradient of the MNIST tutorial CNN's loss over one batch of all ``images``
    (float64 copies, one per weight), from fixed initial weights."""
    torch.manual_seed(0)
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.precision = precision
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    fit_on_threads(model, images, labels, batch_size=len(images), epochs=1, shuffle=False,
                   verbose=0, threads=cores)
    return [p.grad.detach().double().clone() for p in model.net.parameters()]


def assert_same_gradient(got: list[torch.Tensor], expected: list[torch.Tensor],
                         precision: str) -> None:
    """Each weight's gradient within rounding of the other, relative to its norm."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        error = float((a - b).norm() / b.norm())
        assert error <= RELATIVE_TOLERANCE[precision], (precision, error)
