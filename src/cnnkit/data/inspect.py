"""What a dataset holds, before anything is trained on it: ``cnnkit data inspect``.

:func:`inspect` returns a JSON-ready dict: images per class and split, class imbalance, the
original image sizes and modes, exact duplicates within each split and shared between
splits (leakage), and the files the load skipped. :mod:`.inspect_text` prints it.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np

from ..errors import DataError
from .dataset import ImageDataset
from .duplicates import Duplicates, duplicates_across, duplicates_within, image_digests
from .report import LoadReport


def inspect(splits: dict[str, ImageDataset], examples: int = 5) -> dict:
    """Counts, sizes, modes, imbalance, duplicates, leakage and skips of a dataset's splits.

    ``examples`` caps the example path pairs given for each kind of duplicate.
    """
    if not splits:
        raise DataError("there is no split to inspect")
    first = next(iter(splits.values()))
    digests = {name: image_digests(d.images) for name, d in splits.items()}
    return {
        "classes": list(first.class_names),
        "image_shape": list(first.image_shape),
        "images": sum(len(d) for d in splits.values()),
        "splits": {name: _split(d, digests[name], examples) for name, d in splits.items()},
        "leakage": [_leak(splits, digests, a, b, examples)
                    for a, b in combinations(splits, 2)],
        "skipped": merged_report(splits).to_dict(),
    }


def _split(dataset: ImageDataset, digests: list[bytes], examples: int) -> dict:
    counts = dataset.class_counts()
    present = [n for n in counts.values() if n]
    return {
        "images": len(dataset),
        "class_counts": counts,
        "imbalance_ratio": round(max(present) / min(present), 3) if present else None,
        "classes_without_images": [name for name, n in counts.items() if not n],
        "sizes_known": dataset.original_sizes is not None,
        "original_sizes": _size_histogram(dataset),
        "original_modes": _mode_histogram(dataset),
        "duplicates": _duplicates(duplicates_within(digests, examples), dataset, dataset),
    }


def _size_histogram(dataset: ImageDataset) -> dict[str, int]:
    """``{"HxW": count}``, most common first; the stored size when the original is unknown."""
    if dataset.original_sizes is None:
        height, width, _ = dataset.image_shape
        return {f"{height}x{width}": len(dataset)} if len(dataset) else {}
    sizes, counts = np.unique(np.asarray(dataset.original_sizes).reshape(-1, 2), axis=0,
                              return_counts=True)
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], tuple(sizes[i])))
    return {f"{sizes[i][0]}x{sizes[i][1]}": int(counts[i]) for i in order}


def _mode_histogram(dataset: ImageDataset) -> dict[str, int]:
    """``{"RGB": count}``, most common first; from the channel count when unknown."""
    if dataset.original_modes is None:
        mode = "L" if dataset.image_shape[2] == 1 else "RGB"
        return {mode: len(dataset)} if len(dataset) else {}
    return dict(Counter(str(m) for m in dataset.original_modes).most_common())


def _duplicates(found: Duplicates, earlier: ImageDataset, later: ImageDataset) -> dict:
    return {"count": found.count, "groups": found.groups,
            "examples": [[_where(earlier, i), _where(later, j)] for i, j in found.pairs]}


def _where(dataset: ImageDataset, index: int) -> str:
    """The file an image came from, else its position (``name[index]``)."""
    if dataset.paths is not None:
        return dataset.paths[index]
    return f"{dataset.name or 'images'}[{index}]"


def _leak(splits: dict[str, ImageDataset], digests: dict[str, list[bytes]], a: str, b: str,
          examples: int) -> dict:
    found = duplicates_across(digests[a], digests[b], examples)
    return {"splits": [a, b], **_duplicates(found, splits[a], splits[b])}


def merged_report(splits: dict[str, ImageDataset]) -> LoadReport:
    """The load report of the splits; merged when they were loaded separately."""
    reports = list({id(d.report): d.report for d in splits.values()}.values())
    if len(reports) == 1:
        return reports[0]
    merged = LoadReport()
    for report in reports:
        merged.merge(report)
    return merged
