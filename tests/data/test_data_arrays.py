"""In-memory arrays and .npz files, made from real Fashion-MNIST and CIFAR-10 images."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CIFAR10_CLASSES, sample_arrays
from PIL import Image

from cnnkit.data import DataError, from_arrays, load, load_splits
from cnnkit.data.arrays import conform
from cnnkit.data.idx import read_idx


@pytest.fixture(scope="module")
def fashion(shared_data):
    """The first 200 Fashion-MNIST test images and labels (uint8)."""
    folder = shared_data / "fashion-mnist"
    x = read_idx(folder / "t10k-images-idx3-ubyte.gz")[:200]
    y = read_idx(folder / "t10k-labels-idx1-ubyte.gz")[:200]
    return np.array(x), np.array(y)


@pytest.fixture(scope="module")
def cifar(cifar_sample):
    """Real CIFAR-10 test images, 4 per class, RGB uint8."""
    return sample_arrays(cifar_sample["test"], CIFAR10_CLASSES)


def test_uint8_images_and_int_labels(fashion):
    x, y = fashion
    dataset = from_arrays(x, y.astype(np.int64), name="fm")
    assert dataset.images.shape == (200, 28, 28, 1) and dataset.images.dtype == np.uint8
    np.testing.assert_array_equal(dataset.images[..., 0], x)
    assert dataset.labels.dtype == np.int64 and dataset.labels.tolist() == y.tolist()
    assert dataset.class_names == [str(i) for i in range(int(y.max()) + 1)]
    assert dataset.name == "fm"


@pytest.mark.parametrize("scale", [1 / 255, 1.0])
def test_float_pixels_by_range(fashion, scale):
    x, y = fashion
    dataset = from_arrays(x.astype(np.float32) * scale, y)
    np.testing.assert_array_equal(dataset.images[..., 0], x)


def test_wide_integer_pixels(fashion):
    x, y = fashion
    np.testing.assert_array_equal(from_arrays(x.astype(np.int64), y).images[..., 0], x)
    with pytest.raises(DataError, match=r"0\.\.255"):
        from_arrays(x.astype(np.int64) * 2, y)


@pytest.mark.parametrize("shape", ["column", "one_hot", "float"])
def test_label_forms(fashion, shape):
    x, y = fashion
    labels = {"column": y.reshape(-1, 1), "one_hot": np.eye(10, dtype=np.float32)[y],
              "float": y.astype(np.float64)}[shape]
    dataset = from_arrays(x, labels, class_names=[f"c{i}" for i in range(10)])
    assert dataset.labels.tolist() == y.tolist()
    assert dataset.num_classes == 10


def test_rgb_images(cifar):
    x, y = cifar
    dataset = from_arrays(x, y, class_names=CIFAR10_CLASSES)
    assert dataset.images.shape == (40, 32, 32, 3)
    assert dataset.class_counts() == dict.fromkeys(CIFAR10_CLASSES, 4)


@pytest.mark.parametrize(("make", "message"), [
    (lambda x, y: (x[:10], y[:11]), "10 images but 11 labels"),
    (lambda x, y: (x[:, :, 0], y), r"\(N, H, W\) or \(N, H, W, C\)"),
    (lambda x, y: (x[:, None], y), "channels-first"),
    (lambda x, y: (np.repeat(x[..., None], 4, axis=3), y), "alpha"),
    (lambda x, y: (x, y.astype(np.int64) - 1), "0 or more"),
    (lambda x, y: (x.astype(np.float32) - 128, y), "undo any normalisation"),
    (lambda x, y: (np.full(x.shape, np.nan, np.float32), y), "NaN"),
    (lambda x, y: (x, y + 0.5), "whole numbers"),
    (lambda x, y: (x, np.stack([y, y], axis=1)), "not one-hot"),
])
def test_errors_have_hints(fashion, make, message):
    x, y = make(*fashion)
    with pytest.raises(DataError, match=message) as info:
        from_arrays(x, y)
    assert info.value.hint


def test_too_few_class_names(fashion):
    with pytest.raises(DataError, match="only 2 class names"):
        from_arrays(*fashion, class_names=["a", "b"])


def test_npz_with_keras_keys(fashion, tmp_path):
    x, y = fashion
    path = tmp_path / "small.npz"
    np.savez(path, x_train=x[:150], y_train=y[:150], x_test=x[150:], y_test=y[150:])
    datasets = load_splits(path)
    assert list(datasets) == ["train", "test"]
    assert datasets["train"].images.shape == (150, 28, 28, 1)
    assert datasets["test"].images.shape == (50, 28, 28, 1)
    assert datasets["train"].class_names == datasets["test"].class_names
    np.testing.assert_array_equal(datasets["test"].images[..., 0], x[150:])
    assert load(path, split="test", image_size=32, channels=3).image_shape == (32, 32, 3)


def test_npz_single_pair_and_class_names(cifar, tmp_path):
    x, y = cifar
    path = tmp_path / "cifar.npz"
    np.savez_compressed(path, x=x, y=y, class_names=np.array(CIFAR10_CLASSES))
    dataset = load(path)
    assert dataset.class_names == CIFAR10_CLASSES
    assert dataset.images.shape == (40, 32, 32, 3)


def test_npz_never_unpickles(fashion, tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, x_train=fashion[0], y_train=np.array(list(fashion[1]), dtype=object))
    with pytest.raises(DataError, match="never unpickles"):
        load(path)


def test_npz_missing_keys(fashion, tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, images=fashion[0])
    with pytest.raises(DataError, match="found images"):
        load(path)


def test_conform_matches_pillow(cifar):
    x, y = cifar
    gray = conform(from_arrays(x, y), channels=1)
    expected = np.stack([np.asarray(Image.fromarray(i).convert("L")) for i in x])
    np.testing.assert_array_equal(gray.images[..., 0], expected)
    bigger = conform(from_arrays(x, y), image_size=(48, 40))
    assert bigger.images.shape == (40, 48, 40, 3)
    box_width = 40 / 1.5  # scaled by 1.5 to cover 48 rows, then the centre 40 columns kept
    left = (32 - box_width) / 2
    first = Image.fromarray(x[0]).resize((40, 48), Image.Resampling.BILINEAR,
                                         box=(left, 0, left + box_width, 32))
    np.testing.assert_array_equal(bigger.images[0], np.asarray(first))
    rgb = conform(gray, channels=3)
    assert rgb.images.shape == (40, 32, 32, 3)
    assert (rgb.images == gray.images).all()
