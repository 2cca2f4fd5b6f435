"""The import lines of Keras and TensorFlow tutorials work on cnnkit's Keras surface."""

from __future__ import annotations

import importlib

import numpy as np


def test_np_utils_to_categorical_is_keras_utils_to_categorical() -> None:
    from cnnkit.keras import utils
    from cnnkit.keras.utils.np_utils import to_categorical

    np_utils = importlib.import_module("cnnkit.keras.utils.np_utils")
    assert to_categorical is utils.to_categorical is np_utils.to_categorical
    assert utils.np_utils is np_utils
    expected = np.zeros((3, 4), np.float32)
    expected[[0, 1, 2], [2, 0, 3]] = 1
    np.testing.assert_array_equal(to_categorical([2, 0, 3], 4), expected)
