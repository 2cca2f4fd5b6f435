"""Built-in datasets: names, the embedded set, where each dataset is found, and downloads
from a local HTTP server serving real files."""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import CIFAR10_CLASSES, sample_arrays

from cnnkit.data import builtin, load, load_splits
from cnnkit.data.builtin import DATASETS, canonical_name, load_builtin, load_builtin_splits, locate
from cnnkit.data.cifar import load_cifar_binary
from cnnkit.data.download import sha256_of
from cnnkit.data.idx import FASHION_MNIST_CLASSES, read_idx
from cnnkit.errors import DataError

FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def fresh(tmp_path, monkeypatch) -> Path:
    """An empty cache, no $CNNKIT_DATA, no system folders, and no network: a download that
    a test did not set up fails loudly."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CNNKIT_CACHE", str(cache))
    monkeypatch.delenv("CNNKIT_DATA", raising=False)
    monkeypatch.setitem(DATASETS, "fashion-mnist",
                        dataclasses.replace(DATASETS["fashion-mnist"], system_dirs=()))
    for spec in DATASETS.values():
        monkeypatch.setenv(spec.url_variable, "http://127.0.0.1:9/unreachable/")
    return cache


@pytest.mark.parametrize(("name", "expected"), [
    ("mnist", "mnist"), ("MNIST", "mnist"), ("fashion_mnist", "fashion-mnist"),
    ("Fashion-MNIST", "fashion-mnist"), ("fashionmnist", "fashion-mnist"),
    ("cifar-10", "cifar10"), ("CIFAR10", "cifar10"), ("fashion_mnist_mini", "fashion-mnist-mini"),
    ("cifar100", None), ("imagenet", None),
])
def test_names_and_aliases(name, expected):
    assert canonical_name(name) == expected


def test_unknown_name_suggests_the_closest(fresh):
    with pytest.raises(DataError, match="did you mean 'fashion-mnist'"):
        load("fashon-mnist")
    with pytest.raises(DataError, match="built-in datasets: mnist, fashion-mnist, cifar10"):
        load("imagenet")
    with pytest.raises(DataError, match="does not exist"):
        load("photos/cats.zip")


def test_embedded_mini_is_a_real_stratified_slice(shared_data, fresh, monkeypatch):
    monkeypatch.setattr(builtin, "fetch", None)  # any download attempt would crash
    datasets = load_splits("fashion-mnist-mini")
    train, test = datasets["train"], datasets["test"]
    assert train.images.shape == (5000, 28, 28, 1) and test.images.shape == (1000, 28, 28, 1)
    assert train.images.dtype == np.uint8
    assert train.class_names == FASHION_MNIST_CLASSES == test.class_names
    assert set(train.class_counts().values()) == {500}
    assert set(test.class_counts().values()) == {100}
    mini = Path(builtin.__file__).parent.parent / "embedded" / "fashion-mnist-mini.npz"
    assert mini.stat().st_size <= 5 * 1024 * 1024
    # Every image is a real Fashion-MNIST test image with its real label.
    real_x = read_idx(shared_data / "fashion-mnist" / "t10k-images-idx3-ubyte.gz")
    real_y = read_idx(shared_data / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz")
    label_of = {image.tobytes(): int(label) for image, label in zip(real_x, real_y, strict=True)}
    found = [label_of.get(image[..., 0].tobytes()) for image in test.images]
    assert found == test.labels.tolist()


def test_cnnkit_data_comes_first(shared_data, fresh, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(shared_data))
    assert locate("fashion-mnist") == (shared_data / "fashion-mnist", "idx")
    assert locate("mnist") == (shared_data / "mnist-png.tar.gz", "tree")
    assert locate("cifar10") == (shared_data / "cifar10-jpg.tar.gz", "tree")
    test = load("fashion_mnist", split="test")
    assert test.name == "fashion-mnist:test"
    assert test.images.shape == (10000, 28, 28, 1)
    assert test.class_names == FASHION_MNIST_CLASSES


def test_fashion_resolution_order(shared_data, fresh, monkeypatch, serve, tmp_path):
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    debian.mkdir()
    for name in FASHION_FILES:
        os.symlink(shared_data / "fashion-mnist" / name, debian / name)
    spec = dataclasses.replace(DATASETS["fashion-mnist"], system_dirs=(str(debian),))
    monkeypatch.setitem(DATASETS, "fashion-mnist", spec)
    # 3. the system folder, when nothing else is there
    assert locate("fashion-mnist") == (debian, "idx")
    # 4. a download into the cache, from the URL in the environment, checked by SHA-256
    monkeypatch.setitem(DATASETS, "fashion-mnist", dataclasses.replace(spec, system_dirs=()))
    monkeypatch.setenv(spec.url_variable, serve(shared_data / "fashion-mnist"))
    datasets = load_builtin_splits("fashion-mnist", progress=False)
    folder = fresh / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FASHION_FILES)
    for remote in spec.files:
        assert sha256_of(folder / remote.name) in remote.sha256
    assert datasets["train"].images.shape == (60000, 28, 28, 1)
    assert datasets["train"].class_names == FASHION_MNIST_CLASSES
    # 2. the cache, before the system folder and without the network
    monkeypatch.setitem(DATASETS, "fashion-mnist", spec)
    monkeypatch.setenv(spec.url_variable, "http://127.0.0.1:9/unreachable/")
    assert locate("fashion-mnist") == (folder, "idx")
    # 1. $CNNKIT_DATA before the cache
    monkeypatch.setenv("CNNKIT_DATA", str(shared_data))
    assert locate("fashion-mnist") == (shared_data / "fashion-mnist", "idx")


def test_not_found_without_download(fresh):
    with pytest.raises(DataError, match="not found") as info:
        locate("mnist", download=False)
    assert str(fresh / "datasets" / "mnist") in info.value.message
    assert "127.0.0.1:9" in info.value.hint


def test_failed_download_says_where_to_put_the_file(fresh):
    with pytest.raises(DataError, match="could not download") as info:
        load("mnist", progress=False)
    assert str(fresh / "datasets" / "mnist" / "train-images-idx3-ubyte.gz") in info.value.hint


def test_mnist_idx_in_cnnkit_data(mnist_idx_dir, mnist_sample, fresh, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA", str(mnist_idx_dir))
    datasets = load_splits("mnist")
    digits = [str(d) for d in range(10)]
    for split in ("train", "test"):
        x, y = sample_arrays(mnist_sample[split], digits)
        assert datasets[split].class_names == digits
        np.testing.assert_array_equal(datasets[split].images[..., 0], x)
        np.testing.assert_array_equal(datasets[split].labels, y)


def _tar_tree(sample: dict, path: Path, suffix: str) -> Path:
    """A ``split/class/NNNN<suffix>`` tree archive, like the shared ones, of a sample."""
    with tarfile.open(path, "w:gz") as tar:
        for split, classes in sample.items():
            for name, files in classes.items():
                for i, data in enumerate(files):
                    info = tarfile.TarInfo(f"{split}/{name}/{i:04d}{suffix}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return path


def test_cifar_jpeg_tree_in_cnnkit_data(cifar_sample, fresh, monkeypatch, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _tar_tree(cifar_sample, data_dir / "cifar10-jpg.tar.gz", ".jpg")
    monkeypatch.setenv("CNNKIT_DATA", str(data_dir))
    test = load_builtin("cifar-10", split="test", progress=False)
    assert test.class_names == CIFAR10_CLASSES
    assert test.images.shape == (40, 32, 32, 3)
    assert test.class_counts() == dict.fromkeys(CIFAR10_CLASSES, 4)


def test_cifar_binary_archive(cifar_binary, fresh, monkeypatch):
    path, arrays = cifar_binary
    monkeypatch.setenv("CNNKIT_DATA", str(path.parent))
    assert locate("cifar10") == (path, "cifar")
    datasets = load_splits("cifar10")
    for split in ("train", "test"):
        x, y = arrays[split]
        assert datasets[split].images.shape == (40, 32, 32, 3)
        np.testing.assert_array_equal(datasets[split].images, x)
        np.testing.assert_array_equal(datasets[split].labels, y)
        assert datasets[split].class_names == CIFAR10_CLASSES


def test_cifar_binary_folder_and_truncated_batch(cifar_binary, tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    with tarfile.open(cifar_binary[0]) as tar:
        tar.extractall(tmp_path, filter="data")
    assert len(load_cifar_binary(folder)["train"]) == 40
    batch = folder / "data_batch_3.bin"
    batch.write_bytes(batch.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"data_batch_3\.bin: 24,574 bytes"):
        load_cifar_binary(folder)
    (folder / "test_batch.bin").unlink()
    with pytest.raises(DataError, match=r"missing: test_batch\.bin"):
        load_cifar_binary(folder)


def test_cifar_download_checks_the_canonical_hash(cifar_binary, fresh, monkeypatch, serve):
    path, arrays = cifar_binary
    url = serve(path.parent)
    # Our small archive is not the real one: the canonical SHA-256 refuses it.
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        load_builtin_splits("cifar10", base_url=url, progress=False)
    assert not (fresh / "datasets" / "cifar10" / path.name).exists()
    # With its own hash registered, the same download is accepted and parsed.
    spec = DATASETS["cifar10"]
    remote = dataclasses.replace(spec.files[0], sha256=(sha256_of(path),))
    monkeypatch.setitem(DATASETS, "cifar10", dataclasses.replace(spec, files=(remote,)))
    train = load_builtin("cifar10", base_url=url, progress=False)
    np.testing.assert_array_equal(train.images, arrays["train"][0])
    assert (fresh / "datasets" / "cifar10" / path.name).is_file()
