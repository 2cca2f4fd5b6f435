"""Sections about the data: sample training images of each class, and what the dataset
holds (images per class and split, duplicates, leakage, skipped files)."""

from __future__ import annotations

import numpy as np

from ..data.inspect import merged_report
from ..data.report import SKIP_REASONS
from . import plots
from .gather import ReportData
from .html import Plot, Section, heading, note, paragraph, shown_path, table

SAMPLES_PER_CLASS = 6
SAMPLE_CLASSES = 40       # classes shown in the sample grid, at most
SKIPPED_FILES_SHOWN = 20
SPLIT_TITLES = (("train", "train"), ("val", "validation"), ("test", "test"))


def samples_section(report: ReportData) -> Section:
    """The first few training images of each class, as the model sees them."""
    section = Section("samples", "Sample training images")
    if report.data is None:
        section.blocks.append(note(report.notes["data"]))
        return section
    train = report.data.train
    samples = [(name, train.images[np.flatnonzero(train.labels == label)[:SAMPLES_PER_CLASS]])
               for label, name in enumerate(train.class_names[:SAMPLE_CLASSES])]
    samples = [(name, images) for name, images in samples if len(images)]
    height, width, channels = train.image_shape
    section.blocks.append(paragraph(
        f"The first {SAMPLES_PER_CLASS} training images of each class, at the model's input "
        f"size ({height}x{width}, {'grayscale' if channels == 1 else 'colour'})."))
    if train.num_classes > SAMPLE_CLASSES:
        section.blocks.append(note(f"only the first {SAMPLE_CLASSES} of "
                                   f"{train.num_classes} classes are shown"))
    section.blocks.append(Plot("samples", plots.png_bytes(plots.class_grid(samples)),
                               "sample training images of each class"))
    return section


def dataset_section(report: ReportData) -> Section:
    """Images per class and split, duplicates and leakage, and the skipped files."""
    section = Section("dataset", "Dataset")
    config = report.files.config
    given = (("data", config.data), ("validation", config.val), ("test", config.test))
    sources = [f"{key}: {shown_path(value)}" for key, value in given if value]
    section.blocks.append(paragraph("; ".join(sources)))
    if report.data is None:
        section.blocks.append(note(report.notes["data"]))
        return section
    splits = {title: d for key, title in SPLIT_TITLES
              if (d := getattr(report.data, key)) is not None}
    section.blocks += [_counts(splits), *_duplicates(report), *_skipped(splits)]
    return section


def _counts(splits: dict) -> str:
    """Images per class (rows) and split (columns), with totals and the imbalance."""
    counts = {title: d.class_counts() for title, d in splits.items()}
    classes = next(iter(splits.values())).class_names
    rows = [(name, *(f"{counts[t].get(name, 0):,}" for t in splits)) for name in classes]
    rows.append(("total", *(f"{len(d):,}" for d in splits.values())))
    rows.append(("largest / smallest class", *(_imbalance(c) for c in counts.values())))
    shape = "x".join(map(str, next(iter(splits.values())).image_shape))
    return (paragraph(f"{len(classes)} classes, images stored as {shape} (height x width x "
                      "channels).")
            + table(("class", *splits), rows, "l" + "r" * len(splits)))


def _imbalance(counts: dict[str, int]) -> str:
    present = [n for n in counts.values() if n]
    return f"{max(present) / min(present):.2f}" if present else ""


def _duplicates(report: ReportData) -> list[str]:
    """Exact duplicates within each split and shared between splits (leakage)."""
    blocks = [heading("Duplicates and leakage")]
    inspection = report.inspection
    if inspection is None:
        return [*blocks, note(f"leakage {report.notes.get('leakage', 'not checked')}")]
    rows = [(f"within {name}", f"{split['duplicates']['count']:,}",
             f"{split['duplicates']['groups']:,}", _example(split["duplicates"]))
            for name, split in inspection["splits"].items()]
    rows += [(f"{b} images also in {a}", f"{leak['count']:,}", f"{leak['groups']:,}",
              _example(leak)) for leak in inspection["leakage"] for a, b in [leak["splits"]]]
    return [*blocks, table(("exact duplicates (same pixels)", "images", "distinct",
                            "example"), rows, "lrrl", "wide")]


def _example(found: dict) -> str:
    return " = ".join(found["examples"][0]) if found["examples"] else ""


def _skipped(splits: dict) -> list[str]:
    """The files the load skipped, by reason, then the first few by name."""
    load_report = merged_report(splits)
    blocks = [heading("Skipped files")]
    if not load_report.skipped:
        blocks.append(paragraph("No file was skipped."))
    else:
        blocks.append(table(("reason", "files", "meaning"),
                            ((reason, f"{n:,}", SKIP_REASONS[reason])
                             for reason, n in load_report.skip_counts().items()), "lrl"))
        shown = load_report.skipped[:SKIPPED_FILES_SHOWN]
        blocks.append(table(("file", "reason", "detail"),
                            ((s.path, s.reason, s.detail) for s in shown), "lll", "wide"))
        if len(load_report.skipped) > len(shown):
            blocks.append(note(f"{len(load_report.skipped) - len(shown):,} more skipped "
                               "files are not listed; 'cnnkit data inspect' lists them all"))
    if load_report.empty_classes:
        blocks.append(paragraph("Class folders with no usable image (left out): "
                                + ", ".join(load_report.empty_classes)))
    blocks += [paragraph(f"warning: {w}") for w in load_report.warnings]
    return blocks
