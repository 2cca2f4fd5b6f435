"""The decode-once cache: the second load maps the decoded arrays instead of decoding, and
any change to the source (or damage to the entry) makes the next load decode again."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnkit.data import build, parallel, tree
from cnnkit.data.tree import load_tree
from sample_images import cifar_jpegs, digits_tree, mnist_pngs, pixels


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    """Every load caches into this test's own folder, never into ~/.cache."""
    path = tmp_path / "cache"
    monkeypatch.setenv("CNNKIT_CACHE", str(path))
    return path


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """Records every decode pass of a load (one entry per pass, named by what ran)."""
    calls: list[str] = []
    probe, decode_into = tree.probe_members, build.decode_into

    def counted_probe(*args, **kwargs):
        calls.append("probe")
        return probe(*args, **kwargs)

    def counted_decode(*args, **kwargs):
        calls.append("decode")
        return decode_into(*args, **kwargs)

    monkeypatch.setattr(tree, "probe_members", counted_probe)
    monkeypatch.setattr(build, "decode_into", counted_decode)
    return calls




def test_second_load_maps_the_cache_without_decoding(tmp_path, cache_dir, monkeypatch):
    root = digits_tree(tmp_path / "data")
    first = load_tree(root)["train"]

    def fail(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(tree, "probe_members", fail)
    monkeypatch.setattr(build, "decode_into", fail)
    second = load_tree(root)["train"]
    assert isinstance(second.images, np.memmap)
    assert Path(second.images.filename).is_relative_to(cache_dir)
    np.testing.assert_array_equal(second.images, first.images)
    assert second.class_counts() == {"even": 3, "odd": 3}
    np.testing.assert_array_equal(second.original_sizes, first.original_sizes)
    assert list(second.original_modes) == ["L"] * 6


def test_cnnkit_cache_is_honoured(tmp_path, cache_dir, monkeypatch):
    root = digits_tree(tmp_path / "data")
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("CNNKIT_CACHE", str(elsewhere))
    load_tree(root)
    entries = list((elsewhere / "decoded").iterdir())
    assert [(e / "manifest.json").is_file() for e in entries] == [True]
    assert not cache_dir.exists()


def test_cache_off_writes_nothing(tmp_path, cache_dir):
    data = load_tree(digits_tree(tmp_path / "data"), cache=False)["train"]
    assert not isinstance(data.images, np.memmap)
    assert len(data) == 6
    assert not cache_dir.exists()


def test_asking_for_the_size_the_images_have_reads_the_default_entry(tmp_path, cache_dir,
                                                                     decodes):
    """A model's 28x28x1 input over 28x28 grayscale digits is the decode the default load
    made (the report of a run loads at the model's size): no second entry, no second decode;
    another size is a decode of its own."""
    root = digits_tree(tmp_path / "data")
    natural = load_tree(root)["train"]
    for size, channels in (((28, 28), 1), (28, None), (None, 1), ([28, 28], 1)):
        again = load_tree(root, image_size=size, channels=channels)["train"]
        assert again.images.filename == natural.images.filename
    assert decodes == ["probe", "decode"]
    assert len(list((cache_dir / "decoded").iterdir())) == 1
    resized = load_tree(root, image_size=14)["train"]
    assert resized.image_shape == (14, 14, 1)
    rgb = load_tree(root, channels=3)["train"]
    assert rgb.image_shape == (28, 28, 3)
    assert decodes == ["probe", "decode"] * 3
    assert len(list((cache_dir / "decoded").iterdir())) == 3


def test_changed_file_is_decoded_again(tmp_path, decodes):
    root = digits_tree(tmp_path / "data")
    load_tree(root)
    changed = root / "even" / "0.png"
    changed.write_bytes(mnist_pngs(7)[6])
    os.utime(changed, ns=(1, 1))  # a different mtime even on coarse-clock file systems

    data = load_tree(root)["train"]
    assert decodes == ["probe", "decode", "probe", "decode"]
    index = next(i for i, p in enumerate(data.paths) if p.endswith("even/0.png"))
    np.testing.assert_array_equal(data.images[index, ..., 0], pixels(mnist_pngs(7)[6]))


def test_added_file_is_decoded_again(tmp_path, decodes):
    root = digits_tree(tmp_path / "data")
    load_tree(root)
    (root / "odd" / "new.png").write_bytes(mnist_pngs(7)[6])
    data = load_tree(root)["train"]
    assert decodes == ["probe", "decode", "probe", "decode"]
    assert data.class_counts() == {"even": 3, "odd": 4}


@pytest.mark.parametrize("one_core", [False, True])
def test_changed_archive_is_decoded_again(tmp_path, decodes, monkeypatch, one_core):
    if one_core:  # decode in this process, which then loads twice
        monkeypatch.setattr(parallel, "worker_count", lambda: 1)
    path = tmp_path / "photos.zip"
    photos = cifar_jpegs(5)

    def write_zip(count: int) -> None:
        with zipfile.ZipFile(path, "w") as archive:
            for i in range(count):
                archive.writestr(f"{'ab'[i % 2]}/{i}.jpg", photos[i])

    write_zip(4)
    assert len(load_tree(path)["train"]) == 4
    write_zip(5)
    os.utime(path, ns=(1, 1))
    data = load_tree(path)["train"]
    assert decodes == ["probe", "decode", "probe", "decode"]
    assert data.class_counts() == {"a": 3, "b": 2}
    index = data.paths.index(f"{path}::a/4.jpg")
    np.testing.assert_array_equal(data.images[index], pixels(photos[4]))


@pytest.mark.parametrize("damage", ["manifest", "images"])
def test_damaged_entry_is_rebuilt(tmp_path, cache_dir, decodes, damage):
    root = digits_tree(tmp_path / "data")
    first = np.array(load_tree(root)["train"].images)
    (entry,) = (cache_dir / "decoded").iterdir()
    if damage == "manifest":
        (entry / "manifest.json").write_text("{not json")
    else:
        with open(entry / "images.npy", "r+b") as f:
            f.truncate(200)
    data = load_tree(root)["train"]
    assert decodes == ["probe", "decode", "probe", "decode"]
    np.testing.assert_array_equal(data.images, first)
