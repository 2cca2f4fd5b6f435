"""IDX files: the real Fashion-MNIST files, slices of them, and damaged copies."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import write_idx

from cnnkit.data import load, load_splits
from cnnkit.data.idx import (
    FASHION_MNIST_CLASSES,
    labels_path_for,
    load_idx_folder,
    load_idx_pair,
    read_idx,
)
from cnnkit.errors import DataError


@pytest.fixture(scope="module")
def fashion(shared_data):
    """The real Fashion-MNIST splits, read once for the module."""
    return load_idx_folder(shared_data / "fashion-mnist")


@pytest.fixture(scope="module")
def slices(fashion):
    """The first 300 training images and labels of Fashion-MNIST."""
    train = fashion["train"]
    return np.asarray(train.images[:300, :, :, 0]), train.labels[:300].astype(np.uint8)


def test_real_fashion_mnist_folder(fashion):
    train, test = fashion["train"], fashion["test"]
    assert list(fashion) == ["train", "test"]
    assert train.images.shape == (60000, 28, 28, 1) and train.images.dtype == np.uint8
    assert test.images.shape == (10000, 28, 28, 1)
    assert train.class_names == FASHION_MNIST_CLASSES
    assert train.class_names[9] == "Ankle boot"
    # Fashion-MNIST is balanced, and its first training image is an ankle boot (label 9).
    assert set(train.class_counts().values()) == {6000}
    assert set(test.class_counts().values()) == {1000}
    assert train.labels[:5].tolist() == [9, 0, 0, 3, 0]
    assert 0 < train.images.mean() < 255


def test_gzip_and_plain_give_the_same_arrays(shared_data, tmp_path):
    source = shared_data / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress(source.read_bytes()))
    disguised = tmp_path / "labels.bin"  # gzip found by content, not by name
    shutil.copy(source, disguised)
    expected = read_idx(source)
    assert expected.shape == (10000,) and expected.dtype == np.uint8
    np.testing.assert_array_equal(read_idx(plain), expected)
    np.testing.assert_array_equal(read_idx(disguised), expected)


def test_digit_names_outside_fashion_folders(slices, tmp_path):
    x, y = slices
    write_idx(tmp_path / "digits" / "train-images-idx3-ubyte.gz", x)
    write_idx(tmp_path / "digits" / "train-labels-idx1-ubyte.gz", y)
    dataset = load(tmp_path / "digits")
    assert dataset.class_names == [str(d) for d in range(10)]
    assert dataset.images.shape == (300, 28, 28, 1)
    np.testing.assert_array_equal(dataset.images[..., 0], x)
    np.testing.assert_array_equal(dataset.labels, y)


def test_class_names_can_be_given(slices, tmp_path):
    x, y = slices
    images = write_idx(tmp_path / "train-images-idx3-ubyte", x, compress=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", y, compress=False)
    names = [f"c{i}" for i in range(10)]
    assert load_idx_pair(images, class_names=names).class_names == names
    with pytest.raises(DataError, match="only 3 class names"):
        load_idx_pair(images, class_names=["a", "b", "c"])


def test_single_file_split_and_kaggle_names(slices, tmp_path):
    x, y = slices
    images = write_idx(tmp_path / "t10k-images.idx3-ubyte", x[:50], compress=False)
    labels = write_idx(tmp_path / "t10k-labels.idx1-ubyte", y[:50], compress=False)
    assert labels_path_for(images) == labels
    datasets = load_splits(images, image_size=14, channels=3)
    assert list(datasets) == ["test"]
    assert datasets["test"].images.shape == (50, 14, 14, 3)


def test_missing_labels_file_is_named(slices, tmp_path):
    images = write_idx(tmp_path / "train-images-idx3-ubyte.gz", slices[0])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        load(images)


def test_truncated_file_names_both_sizes(slices, tmp_path):
    x, y = slices
    images = write_idx(tmp_path / "train-images-idx3-ubyte", x, compress=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", y, compress=False)
    whole = images.stat().st_size  # 16 + 300 * 784 = 235,216
    images.write_bytes(images.read_bytes()[:-1000])
    with pytest.raises(DataError) as info:
        load(tmp_path)
    message = str(info.value)
    assert str(images) in message
    assert f"{whole:,}" in message and f"{whole - 1000:,}" in message


def test_trailing_bytes_are_refused(slices, tmp_path):
    data = gzip.decompress(write_idx(tmp_path / "x", slices[1]).read_bytes())
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(data + b"junk"))
    with pytest.raises(DataError, match="308 bytes, but the file holds 312 bytes"):
        read_idx(path)


def test_wrong_magic(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_label_count_must_match(slices, tmp_path):
    x, y = slices
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y[:299])
    with pytest.raises(DataError, match=r"300 images but .* 299 labels"):
        load_idx_folder(tmp_path)


def test_swapped_files_are_explained(slices, tmp_path):
    y = slices[1]
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", y)  # labels where images belong
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y)
    with pytest.raises(DataError, match="is this a labels file"):
        load_idx_folder(tmp_path)


def test_damaged_gzip(shared_data, tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    data = (shared_data / "fashion-mnist" / "train-labels-idx1-ubyte.gz").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=str(path.name)):
        read_idx(path)


def test_folder_without_idx_files(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(DataError, match="no IDX image files"):
        load_idx_folder(tmp_path)


def test_images_are_memory_mapped_never_read_whole(slices, tmp_path, monkeypatch):
    x, y = slices
    cache = tmp_path / "cache"
    monkeypatch.setenv("CNNKIT_CACHE", str(cache))
    plain = write_idx(tmp_path / "plain" / "train-images-idx3-ubyte", x, compress=False)
    write_idx(tmp_path / "plain" / "train-labels-idx1-ubyte", y, compress=False)
    packed = write_idx(tmp_path / "packed" / "train-images-idx3-ubyte.gz", x)
    write_idx(tmp_path / "packed" / "train-labels-idx1-ubyte.gz", y)
    in_place = load(plain.parent).images
    assert isinstance(in_place, np.memmap) and Path(in_place.filename) == plain
    unpacked = load(packed.parent).images  # decompressed into the cache, then mapped
    assert isinstance(unpacked, np.memmap)
    assert Path(unpacked.filename).is_relative_to(cache / "decoded")
    again = load(packed.parent).images
    assert again.filename == unpacked.filename
    in_memory = load(packed.parent, cache=False).images
    assert not isinstance(in_memory, np.memmap)
    for images in (in_place, unpacked, in_memory):
        np.testing.assert_array_equal(images[..., 0], x)


def test_truncated_gzip_is_refused_before_anything_is_cached(slices, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    path = write_idx(tmp_path / "d" / "train-images-idx3-ubyte.gz", slices[0])
    write_idx(tmp_path / "d" / "train-labels-idx1-ubyte.gz", slices[1])
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[:-784]))
    with pytest.raises(DataError, match="235,216 bytes, but the file holds 234,432 bytes"):
        load(path.parent)
    assert not any((tmp_path / "cache" / "decoded").glob("*/manifest.json"))
