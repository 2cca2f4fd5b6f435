"""``inspect()`` on a small tree of real MNIST digits with planted duplicates and leaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.data.dataset import ImageDataset
from cnnkit.data.inspect import inspect
from cnnkit.data.inspect_text import format_inspection
from cnnkit.data.tree import load_tree
from cnnkit.errors import DataError
from sample_images import encode, mnist_pngs, pixels


def planted_tree(root: Path) -> Path:
    """Train and test splits of real digits, with two duplicates inside train (one across
    classes), the same train image leaked twice into test, a 56x56 image and a text file."""
    p = mnist_pngs(8)
    big = Image.fromarray(pixels(p[5])).resize((56, 56), Image.Resampling.NEAREST)
    files = {
        "train/a/0.png": p[0], "train/a/1.png": p[1], "train/a/2.png": p[2],
        "train/a/copy.png": p[0],
        "train/b/3.png": p[3], "train/b/4.png": p[4], "train/b/other.png": p[1],
        "train/b/big.png": encode(big),
        "test/a/6.png": p[6], "test/a/leak.png": p[3], "test/a/leak2.png": p[3],
        "test/b/7.png": p[7], "test/b/notes.png": b"not an image",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture
def tree(tmp_path) -> Path:
    return planted_tree(tmp_path / "data")


@pytest.fixture
def result(tree) -> dict:
    return inspect(load_tree(tree))


def relative(pairs: list[list[str]], root: Path) -> list[list[str]]:
    return [[Path(p).relative_to(root).as_posix() for p in pair] for pair in pairs]


def test_counts_sizes_modes_and_imbalance(result):
    assert result["classes"] == ["a", "b"]
    assert result["image_shape"] == [28, 28, 1]
    assert result["images"] == 12
    train, test = result["splits"]["train"], result["splits"]["test"]
    assert list(result["splits"]) == ["train", "test"]
    assert (train["images"], train["class_counts"]) == (8, {"a": 4, "b": 4})
    assert (test["images"], test["class_counts"]) == (4, {"a": 3, "b": 1})
    assert (train["imbalance_ratio"], test["imbalance_ratio"]) == (1.0, 3.0)
    assert train["original_sizes"] == {"28x28": 7, "56x56": 1}
    assert test["original_sizes"] == {"28x28": 4}
    assert train["original_modes"] == {"L": 8}
    assert train["sizes_known"] and train["classes_without_images"] == []


def test_exact_duplicates_within_a_split(result, tree):
    train, test = result["splits"]["train"]["duplicates"], result["splits"]["test"]["duplicates"]
    assert (train["count"], train["groups"]) == (2, 2)
    assert relative(train["examples"], tree) == [["train/a/0.png", "train/a/copy.png"],
                                                 ["train/a/1.png", "train/b/other.png"]]
    assert (test["count"], test["groups"]) == (1, 1)
    assert relative(test["examples"], tree) == [["test/a/leak.png", "test/a/leak2.png"]]


def test_leakage_between_splits(result, tree):
    (leak,) = result["leakage"]
    assert leak["splits"] == ["train", "test"]
    assert (leak["count"], leak["groups"]) == (2, 1)
    assert relative(leak["examples"], tree) == [["train/b/3.png", "test/a/leak.png"],
                                                ["train/b/3.png", "test/a/leak2.png"]]


def test_examples_are_capped(tree):
    result = inspect(load_tree(tree), examples=1)
    assert len(result["splits"]["train"]["duplicates"]["examples"]) == 1
    assert result["splits"]["train"]["duplicates"]["count"] == 2


def test_skipped_files_are_reported(result, tree):
    skipped = result["skipped"]
    assert skipped["skipped_by_reason"] == {"not_an_image": 1}
    assert [Path(s["path"]).name for s in skipped["skipped_files"]] == ["notes.png"]


def test_arrays_without_files_or_original_sizes():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    images[4] = images[1]
    dataset = ImageDataset(images, np.zeros(5, np.int64), ["cat", "dog"], name="pets")
    split = inspect({"train": dataset})["splits"]["train"]
    assert split["original_sizes"] == {"8x8": 5} and not split["sizes_known"]
    assert split["original_modes"] == {"RGB": 5}
    assert split["classes_without_images"] == ["dog"]
    assert split["imbalance_ratio"] == 1.0
    assert split["duplicates"]["examples"] == [["pets[1]", "pets[4]"]]


def test_nothing_to_inspect():
    with pytest.raises(DataError):
        inspect({})


def test_text_tables_are_aligned(result, tree):
    text = format_inspection(result, str(tree))
    lines = text.splitlines()
    assert lines[0] == f"{tree}: 2 classes, 12 images, stored as 28x28x1"
    start = lines.index(next(line for line in lines if line.startswith("class ")))
    table = lines[start:start + 5]
    assert [line.split() for line in table] == [
        ["class", "train", "test"], ["a", "4", "3"], ["b", "4", "1"], ["total", "8", "4"],
        ["imbalance", "1.00", "3.00"]]
    assert len({len(line) for line in table}) == 1  # numbers right-aligned in columns
    assert any(line.split() == ["56x56", "1", "0"] for line in lines)
    assert any(line.split() == ["test", "images", "also", "in", "train", "2", "1"]
               for line in lines)
    assert any("not_an_image" in line for line in lines)
    assert any(line.strip().endswith("notes.png") for line in lines)
