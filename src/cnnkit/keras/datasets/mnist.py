"""MNIST handwritten digits, as ``keras.datasets.mnist``."""

from __future__ import annotations

import numpy as np

from ...data.builtin import load_arrays


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(60000, 28, 28)`` and
    ``(10000, 28, 28)``, uint8 digit labels ``(60000,)`` and ``(10000,)``."""
    (x_train, y_train), (x_test, y_test) = load_arrays("mnist", channels=1)
    return (x_train[..., 0], y_train), (x_test[..., 0], y_test)
