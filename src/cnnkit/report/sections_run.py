"""Sections about the training itself: the curves, the diagnosis, the model, the settings
and the timings."""

from __future__ import annotations

import math

import yaml

from ..diagnosis.finding import format_value
from ..recipes.notes import recipe_lines
from . import plots
from .gather import ReportData
from .html import (
    Plot,
    Section,
    bullet_list,
    escape,
    heading,
    note,
    paragraph,
    preformatted,
    shown_path,
    shown_settings,
    table,
)

DIAGNOSIS_INPUTS = (("training curves", "history"), ("test or validation evaluation", "evaluation"),
                    ("training class counts", "data"), ("leakage check", "leakage"))


def curves_section(report: ReportData) -> Section:
    """Loss and accuracy per epoch, training against validation, and the learning rate."""
    section = Section("curves", "Training curves")
    history = report.files.history
    if not history:
        section.blocks.append(note(report.notes.get("history", "history.csv holds no epoch")))
        return section
    section.blocks.append(Plot("curves", plots.png_bytes(plots.training_curves(history)),
                               "loss, accuracy and learning rate per epoch"))
    if "val_loss" not in history:
        section.blocks.append(note("the run had no validation data, so there are no "
                                   "validation curves"))
    if report.files.phases:
        section.blocks.append(paragraph(phase_text(report.files.phases)))
    return section


PHASE_NAMES = {"frozen": "the backbone frozen, a new head trained on its features computed "
                         "once", "fine-tune": "fine-tuning the whole network"}


def phase_text(phases: list[str]) -> str:
    """``Epochs 1-20: ...; epochs 21-23: ...``: the phases of a pretrained run."""
    spans: list[list] = []
    for epoch, phase in enumerate(phases, start=1):
        if spans and spans[-1][0] == phase:
            spans[-1][2] = epoch
        else:
            spans.append([phase, epoch, epoch])
    return "; ".join(f"epochs {first}-{last}: {PHASE_NAMES.get(phase, phase)}"
                     for phase, first, last in spans).capitalize() + "."


def diagnosis_section(report: ReportData) -> Section:
    """The findings of :func:`cnnkit.diagnosis.diagnose`, with evidence and advice."""
    section = Section("diagnosis", "Diagnosis")
    missing = [f"{what}: {report.notes[key]}" for what, key in DIAGNOSIS_INPUTS
               if key in report.notes]
    if not report.findings:
        section.blocks.append(paragraph("No problem found by the rules of docs/diagnosis.md."))
    for finding in report.findings:
        evidence = table(("evidence", "value"),
                         ((key, _evidence(value)) for key, value in finding.evidence.items()),
                         css_class="evidence")
        section.blocks.append(
            f'<div class="finding {escape(finding.severity)}"><h3>'
            f'<span class="badge {escape(finding.severity)}">{escape(finding.severity)}</span>'
            f"{escape(finding.title)} <code>{escape(finding.rule)}</code></h3>{evidence}"
            f"<b>What to try</b>{bullet_list(finding.advice)}</div>")
    if missing:
        section.blocks.append(note("The rules that need these inputs could not run: "
                                   + "; ".join(missing)))
    return section


def _evidence(value: object) -> str:
    """A value of a finding's evidence; a mapping of mappings (per class, per split pair)
    gets one line per entry."""
    if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
        return "\n".join(f"{key}: {format_value(v)}" for key, v in value.items())
    return format_value(value)


def model_section(report: ReportData) -> Section:
    """The Keras summary table of the saved model."""
    section = Section("model", "Model")
    if report.model is None:
        section.blocks.append(note(report.notes["model"]))
        return section
    lines: list[str] = []
    report.model.summary(print_fn=lines.append)
    classes = report.model.class_names or []
    config = report.files.config
    name = (shown_path(config.model) if config.model or not config.recipe
            else f"recipe {config.recipe}")
    section.blocks += [paragraph(f"{report.model_source} ({name}), "
                                 f"{len(classes)} classes")]
    if config.recipe:
        section.blocks += [paragraph(line) for line in recipe_lines(
            config, tuple(report.model.input_shape[1:]), len(classes))]
    section.blocks.append(preformatted("\n".join(lines)))
    return section


def config_section(report: ReportData) -> Section:
    """config.yaml, and the seconds and images per second of every epoch."""
    files = report.files
    section = Section("config", "Settings and timings")
    section.blocks += [heading("config.yaml"),
                       preformatted(yaml.safe_dump(shown_settings(files.config.to_dict()),
                                                   sort_keys=False),
                                    "columns"),
                       heading("Timings")]
    if not files.timing:
        section.blocks.append(note(report.notes.get("history", "no timing was recorded")))
        return section
    rows = [(i + 1, _seconds(t.get("epoch_seconds")), _rate(t.get("images_per_second")),
             _seconds(t.get("data_wait_seconds"))) for i, t in enumerate(files.timing)]
    total = sum(t.get("epoch_seconds", 0.0) for t in files.timing)
    waited = sum(t.get("data_wait_seconds", 0.0) for t in files.timing)
    rows.append(("total", _seconds(total), "", _seconds(waited)))
    section.blocks += [paragraph(f"{files.epochs} of {files.config.epochs} epoch(s) trained in "
                                 f"{total:.1f} s (evaluation and saving not included)."),
                       table(("epoch", "seconds", "images/s", "waiting for data (s)"), rows,
                             "rrrr")]
    return section


def _seconds(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.2f}"


def _rate(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:,.0f}"
