"""``cnnkit.keras.datasets``: the arrays Keras returns, from the real data sets."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.keras import datasets
from cnnkit.keras.datasets import cifar10, fashion_mnist, mnist
from conftest import pixels

# Images per digit in the MNIST training and test sets.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_package_layout():
    assert datasets.mnist is mnist and datasets.cifar10 is cifar10
    assert datasets.fashion_mnist is fashion_mnist


def test_fashion_mnist_like_keras(shared_data, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(shared_data))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]  # as in the Keras tutorials
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert x_train.max() == 255 and x_train.min() == 0
    assert not isinstance(x_train, np.memmap)


@pytest.mark.slow
def test_mnist_like_keras_from_the_png_tree(shared_data, mnist_sample, monkeypatch):
    """The one full decode of the suite: 70,000 real PNGs (about 10 s, then cached)."""
    monkeypatch.setenv("CNNKIT_DATA", str(shared_data))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    # The tree is read class by class in file-name order: train/0/1.png comes first.
    np.testing.assert_array_equal(x_train[0], pixels(mnist_sample["train"]["0"][0]))
    np.testing.assert_array_equal(x_test[0], pixels(mnist_sample["test"]["0"][0]))


def test_mnist_from_idx_files(mnist_idx_dir, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(mnist_idx_dir))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (40, 28, 28) and y_train.shape == (40,)
    assert x_test.shape == (40, 28, 28) and y_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [4] * 10


def test_cifar10_like_keras(cifar_binary, monkeypatch):
    path, arrays = cifar_binary
    monkeypatch.setenv("CNNKIT_DATA", str(path.parent))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (40, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (40, 1) and y_train.dtype == np.uint8  # (N, 1), as Keras gives
    assert x_test.shape == (40, 32, 32, 3) and y_test.shape == (40, 1)
    np.testing.assert_array_equal(x_test, arrays["test"][0])
    np.testing.assert_array_equal(y_train[:, 0], arrays["train"][1])
