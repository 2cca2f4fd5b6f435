"""``cnnkit.keras.datasets``: the arrays Keras returns, from the real data sets."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import pixels

from cnnkit.data.builtin import mixed_order
from cnnkit.keras import datasets
from cnnkit.keras.datasets import cifar10, fashion_mnist, mnist
from cnnkit.train.validation_split import split_last

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
    # The tree is read class by class, then put in the fixed mixed order: train/0/1.png
    # (the first file by path) lands where mixed_order puts image 0.
    paths = [f"{i:05d}" for i in range(60000)]
    sorted_labels = np.repeat(np.arange(10), MNIST_TRAIN_COUNTS)
    first = int(np.flatnonzero(mixed_order(paths, sorted_labels) == 0)[0])
    np.testing.assert_array_equal(x_train[first], pixels(mnist_sample["train"]["0"][0]))
    assert_mixed_like_keras(x_train, y_train, validation_split=0.1)
    assert len(np.unique(y_test[:300])) == 10
    (again, _), _ = mnist.load_data()  # the same order on every call
    np.testing.assert_array_equal(again, x_train)


@pytest.mark.slow
def test_cifar10_from_the_jpeg_tree_is_mixed(shared_data, monkeypatch):
    """50,000 + 10,000 real JPEGs (decoded once, then cached)."""
    monkeypatch.setenv("CNNKIT_DATA", str(shared_data))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (50000, 32, 32, 3) and y_train.shape == (50000, 1)
    assert x_test.shape == (10000, 32, 32, 3) and y_test.shape == (10000, 1)
    assert np.bincount(y_train[:, 0]).tolist() == [5000] * 10
    assert_mixed_like_keras(x_train, y_train[:, 0], validation_split=0.2)
    assert len(np.unique(y_test[:300, 0])) == 10


def assert_mixed_like_keras(x: np.ndarray, y: np.ndarray, validation_split: float) -> None:
    """``fit(x, y, validation_split=...)`` holds out every class, each 8-12 % of the held-out
    images, and the first 300 images are not one class."""
    (_, y_kept, _), (_, y_held, _) = split_last(x, y, None, validation_split)
    assert len(y_held) == len(y) - int(len(y) * (1 - validation_split))
    shares = np.bincount(y_held, minlength=10) / len(y_held)
    assert shares.min() >= 0.08 and shares.max() <= 0.12, shares
    assert (np.bincount(y_kept, minlength=10) > 0).all()
    assert len(np.unique(y[:300])) == 10


def test_mixed_order_does_not_depend_on_the_listing_order():
    paths = [f"train/{c}/{i}.png" for c in range(10) for i in range(50)]
    labels = np.repeat(np.arange(10), 50)
    listing = np.random.default_rng(5).permutation(len(paths))
    in_order = [paths[i] for i in mixed_order(paths, labels)]
    listed = [paths[i] for i in listing]
    assert [listed[i] for i in mixed_order(listed, labels[listing])] == in_order
    assert sorted(in_order) == sorted(paths) and in_order != sorted(paths)
    tail = [int(p.split("/")[1]) for p in in_order[-50:]]  # any tenth holds every class
    assert np.bincount(tail, minlength=10).min() >= 3


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
