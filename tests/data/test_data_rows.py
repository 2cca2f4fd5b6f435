"""Splits, fractions, class selections and sample orders are row views over the untouched
memory map (ImageRows), and give the same pixels as the copies they replace."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import sample_arrays

from cnnkit.data import ImageDataset, ImageRows
from cnnkit.data import rows as rows_module
from cnnkit.data.load import _select
from cnnkit.models.preprocess import Preprocess
from cnnkit.train.balance import balanced_order
from cnnkit.train.batches import ArraySource

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


@pytest.fixture
def mapped(cifar_sample, tmp_path) -> ImageDataset:
    """40 real CIFAR-10 photos in a memory-mapped .npy, as the decode cache serves them."""
    x, y = sample_arrays(cifar_sample["train"], CLASSES)
    np.save(tmp_path / "images.npy", x)
    images = np.load(tmp_path / "images.npy", mmap_mode="r")
    return ImageDataset(images, y, CLASSES, [f"photo-{i}" for i in range(len(x))], "cifar")


def positions(dataset: ImageDataset) -> list[int]:
    """Where each image of a subset sits in the full dataset (from its path)."""
    return [int(p.split("-")[1]) for p in dataset.paths]


def assert_view_of(part: ImageDataset, whole: ImageDataset) -> None:
    """``part`` reads the untouched map of ``whole`` and holds what a copy would hold."""
    assert isinstance(part.images, ImageRows)
    assert part.images.base is whole.images
    assert np.shares_memory(part.images[0], whole.images)
    index = positions(part)
    np.testing.assert_array_equal(part.images.rows, index)
    np.testing.assert_array_equal(np.asarray(part.images), np.asarray(whole.images)[index])
    assert [part.class_names[c] for c in part.labels] == \
        [whole.class_names[c] for c in whole.labels[index]]
    assert part.images.shape == (len(index), 32, 32, 3) and len(part) == len(index)


def test_split_parts_are_views_holding_the_copied_pixels(mapped):
    rest, held = mapped.split(0.25, seed=3)
    assert_view_of(rest, mapped)
    assert_view_of(held, mapped)
    assert sorted(positions(rest) + positions(held)) == list(range(len(mapped)))
    assert held.class_counts() == {name: 1 for name in CLASSES}


def test_fraction_and_subsets_of_subsets_stay_views_of_the_map(mapped):
    part = mapped.fraction(0.5, seed=1)
    assert_view_of(part, mapped)
    nested = part.subset([3, 0, 3, 7])
    assert_view_of(nested, mapped)
    assert positions(nested) == [positions(part)[i] for i in (3, 0, 3, 7)]
    sliced = part.subset(slice(2, 9))
    assert_view_of(sliced, mapped)


def test_class_selection_is_a_view(mapped):
    picked = _select(mapped, ["ship", "cat"])
    assert_view_of(picked, mapped)
    assert set(picked.labels) == {0, 1}


def test_indexing_a_view_acts_as_the_copied_array(mapped):
    part = mapped.fraction(0.5, seed=2)
    copy = np.asarray(part.images)
    assert isinstance(part.images[1:5], ImageRows)
    np.testing.assert_array_equal(np.asarray(part.images[1:5]), copy[1:5])
    np.testing.assert_array_equal(part.images[[4, 1, 1]], copy[[4, 1, 1]])
    np.testing.assert_array_equal(part.images[copy[:, 0, 0, 0] > 100],
                                  copy[copy[:, 0, 0, 0] > 100])
    np.testing.assert_array_equal(part.images[2, :, :, 0], copy[2, :, :, 0])
    np.testing.assert_array_equal(part.images[1:3, 0], copy[1:3, 0])
    np.testing.assert_array_equal(np.stack(list(part.images)), copy)
    assert part.images.nbytes == copy.nbytes
    with pytest.raises(IndexError):
        ImageRows(mapped.images, [len(mapped)])


def test_balanced_batches_gather_their_rows_as_fancy_indexing_would(mapped):
    part = mapped.fraction(0.5, seed=4)
    order = balanced_order(part.labels, len(CLASSES), seed=5, epoch=0)
    assert len(set(order.tolist())) < len(order)  # draws repeat: unsorted, with repeats
    source = ArraySource(part.images, part.labels, Preprocess(scale=1.0))
    x, y, _ = source.batch(order[:16])
    expected = np.asarray(mapped.images)[np.asarray(positions(part))[order[:16]]]
    np.testing.assert_array_equal(x.permute(0, 2, 3, 1).numpy(), expected.astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), part.labels[order[:16]])


def mapping_rss(path: Path) -> int:
    """Resident bytes of this process's mappings of ``path`` (Linux /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = line.endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1]) * 1024
    return total


def photo_map(path: Path, photos: np.ndarray, count: int) -> np.ndarray:
    """A read-only memory map of ``count`` images: the real ``photos`` repeated."""
    writing = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8,
                                        shape=(count, *photos.shape[1:]))
    writing[:] = photos[np.arange(count) % len(photos)]
    writing.flush()
    del writing
    return np.load(path, mmap_mode="r")


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc smaps")
def test_reading_a_map_gives_its_pages_back(mapped, tmp_path, monkeypatch):
    photos = np.asarray(mapped.images)
    images = photo_map(tmp_path / "big.npy", photos, 2000)  # 6 MB
    monkeypatch.setattr(rows_module, "RELEASE_BYTES", 1 << 20)
    order = np.random.default_rng(0).permutation(len(images))
    for start in range(0, len(images), 100):
        batch = rows_module.take_rows(images, order[start:start + 100])
        np.testing.assert_array_equal(batch, photos[order[start:start + 100] % len(photos)])
    assert mapping_rss(tmp_path / "big.npy") <= 1 << 20  # at most the budget stays mapped
    np.array(images)  # a read that bypasses take_rows keeps its pages: the probe works
    assert mapping_rss(tmp_path / "big.npy") >= images.nbytes * 0.9


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc smaps")
def test_a_thinly_spread_gather_gives_pages_back_as_it_goes(mapped, tmp_path, monkeypatch):
    """Every 10th small image in one gather (a held-out split's duplicate check): each row
    maps a 64 KiB window of the file, so the pages must go back during the gather, not after."""
    photos = np.asarray(mapped.images)
    images = photo_map(tmp_path / "big.npy", photos, 4000)  # 12 MB
    budget = 1 << 20
    monkeypatch.setattr(rows_module, "RELEASE_BYTES", budget)
    seen = []
    release = rows_module.release_pages
    monkeypatch.setattr(rows_module, "release_pages", lambda images, mapped, force=False: (
        seen.append(mapping_rss(tmp_path / "big.npy")), release(images, mapped, force)))
    held_out = ImageRows(images, np.arange(0, len(images), 10))
    np.testing.assert_array_equal(np.asarray(held_out),
                                  photos[np.arange(0, len(images), 10) % len(photos)])
    assert len(seen) > 5  # released as it went, not once after the gather
    # 400 rows 30 KiB apart span the whole 12 MB map: all of it stayed mapped until the one
    # release after the gather
    assert max(seen) <= budget + rows_module.FAULT_AROUND_BYTES, seen


def test_mapped_bytes_counts_each_window_once():
    window = rows_module.FAULT_AROUND_BYTES
    dense = rows_module.mapped_bytes(np.arange(64), 1024)  # 64 KiB of adjacent rows
    assert dense[-1] == window and dense[0] == window
    spread = rows_module.mapped_bytes(np.arange(0, 64 * 10, 10), 1024)  # 10 KiB apart
    np.testing.assert_array_equal(np.diff(spread) % window, 0)
    assert spread[-1] == window * len(np.unique(np.arange(0, 640, 10) * 1024 // window))
    large = rows_module.mapped_bytes(np.array([0, 5]), 3 * window)  # rows larger than a window
    np.testing.assert_array_equal(large, [3 * window, 6 * window])


def test_take_rows_keeps_the_shape_of_its_index(mapped):
    images = mapped.images  # the memory map
    copied = np.asarray(images)
    for index in (np.array([[3, 1], [0, 2]]), np.int64(5), [7, 7, 2], slice(8, 2, -3)):
        np.testing.assert_array_equal(rows_module.take_rows(images, index), copied[index])
