"""Build a cache entry from probed, labelled images, and turn an entry into datasets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .cache import read_entry, write_manifest
from .dataset import ImageDataset
from .engine import Probed, compact, decode_into, target_shape
from .report import LoadReport
from .sources import Payload

SPLIT_ORDER = ("train", "val", "test")


@dataclass
class Labelled:
    """A probed image with the split and class it belongs to."""

    probed: Probed
    split: str
    label: str


def build_entry(scratch: Path, items: list[Labelled], class_names: list[str],
                image_size, channels, report: LoadReport, strict: bool, progress: bool,
                restream: Callable[[], Iterable[tuple[str, Payload]]] | None, extra: dict,
                prune_classes: bool = False) -> None:
    """Decode ``items`` into ``scratch`` as ``images.npy``, ``labels.npy``, ``sizes.npy`` and
    a manifest, ordered split by split so each split is one contiguous slice.

    With ``prune_classes`` (class names found from the images, not given by the user), a class
    whose every image failed to decode is left out and listed in ``report.empty_classes``.

    Each member's own payload is read; when payloads were dropped to save memory,
    ``restream`` re-reads ``(display, bytes)`` pairs for sources that cannot be read out of
    order (compressed tar).
    """
    def order(item: Labelled) -> tuple:
        return (_split_rank(item.split), class_names.index(item.label), item.probed.member.display)

    items = sorted(items, key=order)
    shape = target_shape((i.probed.header for i in items), image_size, channels)
    displays = [i.probed.member.display for i in items]
    images_path = scratch / "images.npy"
    out = np.lib.format.open_memmap(images_path, mode="w+", dtype=np.uint8,
                                    shape=(len(items), *shape))
    del out
    if restream is None or all(i.probed.member.payload is not None for i in items):
        slot_payloads: Iterable[tuple[int, Payload]] = (
            (slot, item.probed.member.payload) for slot, item in enumerate(items))
    else:
        slot_of = {display: slot for slot, display in enumerate(displays)}
        slot_payloads = ((slot_of[d], data) for d, data in restream() if d in slot_of)
    ok = decode_into(images_path, shape, slot_payloads, displays, report, strict, progress)
    compact(images_path, ok)
    kept = [item for item, good in zip(items, ok, strict=True) if good]
    if not kept:
        raise DataError(f"{extra.get('source', 'the source')}: no image could be decoded",
                        hint=report.hint())
    if prune_classes:
        class_names = _drop_emptied(class_names, kept, report)
    np.save(scratch / "labels.npy",
            np.array([class_names.index(i.label) for i in kept], dtype=np.int64))
    np.save(scratch / "sizes.npy", np.array(
        [(i.probed.header.height, i.probed.header.width) for i in kept], dtype=np.int32
    ).reshape(-1, 2))
    modes = sorted({i.probed.header.mode for i in kept})
    np.save(scratch / "modes.npy", np.array([modes.index(i.probed.header.mode) for i in kept],
                                            dtype=np.int16))
    extra = dict(extra)
    if (files := extra.pop("files", None)) is not None:
        (scratch / "files.json").write_text(json.dumps(files))
    splits: dict[str, list[int]] = {}
    for index, item in enumerate(kept):
        splits.setdefault(item.split, [index, index])[1] = index + 1
    write_manifest(scratch, {
        **extra,
        "arrays": ["images", "labels", "sizes", "modes"],
        "class_names": class_names,
        "splits": splits,
        "paths": [i.probed.member.display for i in kept],
        "mode_names": modes,
        "report": report.to_dict(),
    })


def _drop_emptied(class_names: list[str], kept: list[Labelled], report: LoadReport
                  ) -> list[str]:
    """The class names that still have an image; the others join ``report.empty_classes``."""
    present = {item.label for item in kept}
    emptied = [name for name in class_names if name not in present]
    report.empty_classes[:] = sorted({*report.empty_classes, *emptied})
    return [name for name in class_names if name in present]


def _split_rank(split: str) -> int:
    return SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER)


def datasets_from_entry(manifest: dict, arrays: dict[str, np.ndarray], name: str
                        ) -> dict[str, ImageDataset]:
    """One :class:`ImageDataset` per split, each a memory-mapped slice of the entry."""
    report = LoadReport.from_dict(manifest["report"])
    modes = np.asarray(manifest["mode_names"] or ["?"])[np.asarray(arrays["modes"])]
    result = {}
    for split, (start, stop) in manifest["splits"].items():
        result[split] = ImageDataset(
            arrays["images"][start:stop], np.asarray(arrays["labels"][start:stop]),
            list(manifest["class_names"]), manifest["paths"][start:stop],
            f"{name}:{split}", report, np.asarray(arrays["sizes"][start:stop]), modes[start:stop])
    return result


def datasets_from_scratch(scratch: Path, digest: str, name: str, keep_in_memory: bool
                          ) -> dict[str, ImageDataset]:
    """The datasets just built in ``scratch``; copied into memory when the scratch folder
    is about to be deleted (caching off)."""
    found = read_entry(scratch, digest)
    if found is None:
        raise DataError(f"the images of {name} were decoded but could not be read back from "
                        f"{scratch}", hint="check the free disk space of the cache folder "
                                           "($CNNKIT_CACHE, default ~/.cache/cnnkit)")
    datasets = datasets_from_entry(*found, name=name)
    if keep_in_memory:
        for dataset in datasets.values():
            dataset.images = np.array(dataset.images)
    return datasets
