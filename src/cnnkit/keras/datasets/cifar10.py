"""CIFAR-10, as ``keras.datasets.cifar10``."""

from __future__ import annotations

import numpy as np

from ...data.builtin import load_arrays


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 RGB images ``(50000, 32, 32, 3)`` and
    ``(10000, 32, 32, 3)``, uint8 labels shaped ``(50000, 1)`` and ``(10000, 1)`` (airplane
    .. truck), exactly as Keras returns them."""
    (x_train, y_train), (x_test, y_test) = load_arrays("cifar10", channels=3)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))
