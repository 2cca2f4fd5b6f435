"""The report as a document: the headline numbers and the sections, in reading order."""

from __future__ import annotations

import math
import statistics

from .gather import ReportData
from .html import Section, escape, page, shown_path
from .sections_data import dataset_section, samples_section
from .sections_evaluation import confusion_section, per_class_section, worst_section
from .sections_run import config_section, curves_section, diagnosis_section, model_section

SECTIONS = (curves_section, diagnosis_section, confusion_section, per_class_section,
            worst_section, samples_section, model_section, dataset_section, config_section)


def render(report: ReportData) -> tuple[str, list[Section]]:
    """The HTML page and its sections (whose plots are also saved as files)."""
    sections = [make(report) for make in SECTIONS]
    title = f"Training report: {report.files.directory.resolve().name}"
    return page(title, _headline(report), sections), sections


def _headline(report: ReportData) -> str:
    """A line on what was trained, then the numbers that matter most."""
    files, evaluation = report.files, report.evaluation
    config = files.config
    figures: list[tuple[str, str]] = []
    if evaluation is not None:
        split = report.evaluated_split
        figures += [(f"{evaluation['accuracy']:.2%}", f"{split} accuracy"),
                    (f"{evaluation['loss']:.4f}", f"{split} loss")]
    validation = [v for v in files.history.get("val_accuracy", []) if not math.isnan(v)]
    if validation:
        figures.append((f"{max(validation):.2%}", "best validation accuracy"))
    figures.append((f"{files.epochs} / {config.epochs}", "epochs trained"))
    seconds = [t["epoch_seconds"] for t in files.timing if "epoch_seconds" in t]
    if seconds:
        figures.append((f"{sum(seconds):.1f} s", "training time"))
    rates = [t["images_per_second"] for t in files.timing if "images_per_second" in t]
    if rates:
        figures.append((f"{statistics.median(rates):,.0f}", "images/s (median epoch)"))
    boxes = "".join(f"<div><b>{escape(value)}</b><span>{escape(label)}</span></div>"
                    for value, label in figures)
    failure = ("" if files.failure is None else
               f"<p><b>The run stopped early:</b> {escape(files.failure)}</p>")
    return (f'<p class="muted">model {escape(shown_path(config.model))} on data '
            f"{escape(shown_path(config.data))}, run {escape(files.directory.resolve().name)}"
            f'</p>{failure}<div class="headline">{boxes}</div>')

