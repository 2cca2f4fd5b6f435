"""The result of :func:`cnnkit.data.inspect.inspect` as aligned, human-readable text."""

from __future__ import annotations

from ..tables import format_table
from .report import SKIP_REASONS

SKIP_EXAMPLES = 3  # file names shown per skip reason


def format_inspection(result: dict, source: str | None = None) -> str:
    """Tables of images per class and split, original sizes and modes, duplicates and
    leakage, and skipped files."""
    splits = result["splits"]
    names = list(splits)
    shape = "x".join(map(str, result["image_shape"]))
    title = f"{len(result['classes'])} classes, {result['images']:,} images, stored as {shape}"
    lines = [f"{source}: {title}" if source else title, ""]
    lines += _class_table(result["classes"], splits, names)
    lines += ["", *_histogram(splits, names, "original_sizes", "original size")]
    if not all(s["sizes_known"] for s in splits.values()):
        lines.append("(original sizes unknown: the stored size is shown)")
    lines += ["", *_histogram(splits, names, "original_modes", "mode")]
    lines += ["", *_duplicates(result, names)]
    lines += ["", *_skipped(result["skipped"])]
    return "\n".join(lines)


def _class_table(classes: list[str], splits: dict, names: list[str]) -> list[str]:
    rows = [[c, *(splits[s]["class_counts"].get(c, 0) for s in names)] for c in classes]
    rows.append(["total", *(splits[s]["images"] for s in names)])
    rows.append(["imbalance", *(splits[s]["imbalance_ratio"] for s in names)])
    lines = format_table(["class", *names], rows)
    lines.append("(imbalance: images in the largest class / in the smallest)")
    for split in names:
        missing = splits[split]["classes_without_images"]
        if missing:
            lines.append(f"no image of {', '.join(missing)} in {split}")
    return lines


def _histogram(splits: dict, names: list[str], key: str, label: str) -> list[str]:
    values = list(dict.fromkeys(v for s in names for v in splits[s][key]))
    rows = [[v, *(splits[s][key].get(v, 0) for s in names)] for v in values]
    return format_table([label, *names], rows)


def _duplicates(result: dict, names: list[str]) -> list[str]:
    rows, examples = [], []
    for split in names:
        found = result["splits"][split]["duplicates"]
        rows.append([f"within {split}", found["count"], found["groups"]])
        examples += found["examples"]
    for leak in result["leakage"]:
        a, b = leak["splits"]
        rows.append([f"{b} images also in {a}", leak["count"], leak["groups"]])
        examples += leak["examples"]
    lines = format_table(["exact duplicates (same pixels)", "images", "distinct"], rows)
    lines += [f"  e.g. {first}  =  {second}" for first, second in examples]
    return lines


def _skipped(report: dict) -> list[str]:
    if not report["skipped_total"]:
        lines = ["skipped files: none"]
    else:
        lines = [f"skipped files: {report['skipped_total']:,}"]
        for reason, count in report["skipped_by_reason"].items():
            lines.append(f"  {count:>6,}  {reason}: {SKIP_REASONS.get(reason, reason)}")
            paths = [s["path"] for s in report["skipped_files"] if s["reason"] == reason]
            lines += [f"          {p}" for p in paths[:SKIP_EXAMPLES]]
            if len(paths) > SKIP_EXAMPLES:
                lines.append(f"          ... and {len(paths) - SKIP_EXAMPLES:,} more")
    if report["empty_classes"]:
        lines.append("class folders with no usable image: " + ", ".join(report["empty_classes"]))
    lines += [f"warning: {w}" for w in report["warnings"]]
    return lines
