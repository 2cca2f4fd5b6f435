"""CSV/TSV lists of real MNIST PNGs: layouts, skip reasons, splits and the cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import pixels

from cnnkit.data import load, load_splits
from cnnkit.data.cache import cache_root
from cnnkit.errors import BadImageError, DataError


@pytest.fixture
def images(mnist_sample, tmp_path) -> dict[str, list[Path]]:
    """Three real MNIST PNGs of each digit 0, 1, 2, as ``tmp_path/img/<digit>_<i>.png``."""
    written: dict[str, list[Path]] = {}
    for digit in ("0", "1", "2"):
        for i, data in enumerate(mnist_sample["train"][digit][:3]):
            path = tmp_path / "img" / f"{digit}_{i}.png"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            written.setdefault(digit, []).append(path)
    return written


def write_list(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_with_header(images, tmp_path):
    rows = ["path,label"] + [f"img/{p.name},{d}" for d, ps in images.items() for p in ps]
    dataset = load(write_list(tmp_path / "list.csv", rows))
    assert dataset.images.shape == (9, 28, 28, 1) and dataset.images.dtype == np.uint8
    assert dataset.class_names == ["0", "1", "2"]
    assert dataset.class_counts() == {"0": 3, "1": 3, "2": 3}
    assert not dataset.report.skipped
    for image, label, path in zip(dataset.images, dataset.labels, dataset.paths, strict=True):
        assert Path(path).name.startswith(dataset.class_names[label])
        np.testing.assert_array_equal(image[..., 0], pixels(Path(path).read_bytes()))


def test_tsv_without_header_and_named_labels(images, tmp_path):
    names = {"0": "zero", "1": "one", "2": "two"}
    rows = [f"img/{p.name}\t{names[d]}" for d, ps in images.items() for p in ps]
    dataset = load(write_list(tmp_path / "list.tsv", rows), image_size=16, channels=3)
    assert len(dataset) == 9  # the first row is data, not a header
    assert dataset.class_names == ["one", "two", "zero"]
    assert dataset.images.shape == (9, 16, 16, 3)


def test_sniffed_semicolons_and_natural_label_order(images, tmp_path):
    rows = ["file;class"]
    for label, path in zip(["2", "10", "9"], images["0"], strict=True):
        rows.append(f"{path};{label}")  # absolute paths are used as they are
    dataset = load(write_list(tmp_path / "list.txt.csv", rows))
    assert dataset.class_names == ["2", "9", "10"]


def test_skip_reasons(images, tmp_path):
    rows = ["path,label",
            "img/0_0.png,0", "img/0_1.png,0", "img/1_0.png,1", "img/2_0.png,2",
            "img/absent.png,1",          # missing_file
            "img/1_1.png,",              # unknown_label: empty
            "img/2_1.png,7",             # unknown_label: not in classes
            "img/1_2.png,1,extra",       # bad_row
            "img"]                       # bad_row
    dataset = load(write_list(tmp_path / "list.csv", rows), classes=["0", "1", "2"])
    assert len(dataset) == 4
    assert dataset.report.skip_counts() == {"unknown_label": 2, "bad_row": 2, "missing_file": 1}
    missing = [s for s in dataset.report.skipped if s.reason == "missing_file"]
    assert missing[0].path.endswith("absent.png") and "line 6" in missing[0].detail


def test_classes_order_the_labels(images, tmp_path):
    rows = [f"img/{p.name},{d}" for d, ps in images.items() for p in ps]
    dataset = load(write_list(tmp_path / "list.csv", rows), classes=["2", "0", "3"])
    assert dataset.class_names == ["2", "0", "3"]
    assert dataset.class_counts() == {"2": 3, "0": 3, "3": 0}
    assert dataset.report.skip_counts() == {"unknown_label": 3}


def test_strict_stops_at_a_missing_file(images, tmp_path):
    path = write_list(tmp_path / "list.csv", ["img/0_0.png,0", "img/gone.png,1"])
    with pytest.raises(BadImageError, match=r"gone\.png"):
        load(path, strict=True)


def test_split_column(images, tmp_path):
    rows = ["image,label,split"]
    for digit, paths in images.items():
        rows += [f"img/{paths[0].name},{digit},train", f"img/{paths[1].name},{digit},train",
                 f"img/{paths[2].name},{digit},test"]
    rows.append("img/0_0.png,0,holdout")  # bad_row: unknown split
    path = write_list(tmp_path / "list.csv", rows)
    datasets = load_splits(path)
    assert list(datasets) == ["train", "test"]
    assert len(datasets["train"]) == 6 and len(datasets["test"]) == 3
    assert datasets["train"].report.skip_counts() == {"bad_row": 1}
    with pytest.raises(DataError, match="available splits: train, test"):
        load(path, split="val")


def test_cache_is_used_and_invalidated(images, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    rows = [f"img/{p.name},{d}" for d, ps in images.items() for p in ps]
    path = write_list(tmp_path / "list.csv", rows)
    first = load(path)
    entries = list((cache_root() / "decoded").glob("list.csv-*"))
    assert len(entries) == 1 and (entries[0] / "images.npy").is_file()
    assert isinstance(load(path).images, np.memmap)  # served from the entry
    # Replace one listed image with another real one: the entry must be rebuilt.
    target = images["0"][0]
    target.write_bytes(images["1"][0].read_bytes())
    os.utime(target, ns=(1, 1))
    second = load(path)
    index = second.paths.index(str(target))
    np.testing.assert_array_equal(second.images[index], first.images[first.paths.index(
        str(images["1"][0]))])
    assert not np.array_equal(second.images[index], first.images[index])


def test_uncached_load_is_in_memory(images, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    path = write_list(tmp_path / "list.csv", [f"img/{images['0'][0].name},0",
                                              f"img/{images['1'][0].name},1"])
    dataset = load(path, cache=False)
    assert not isinstance(dataset.images, np.memmap) and len(dataset) == 2
    assert not (tmp_path / "cache").exists()


def test_nothing_usable(tmp_path):
    path = write_list(tmp_path / "list.csv", ["path,label", "a.png,0", "b.png,1"])
    with pytest.raises(DataError, match="no usable image"):
        load(path)
