"""Sections about how good the model is and where it fails: the confusion matrix, the scores
of each class and the images with the highest loss."""

from __future__ import annotations

import numpy as np

from . import plots
from .gather import ReportData
from .html import Plot, Section, note, paragraph, table

MOST_CONFUSED_SHOWN = 8


def confusion_section(report: ReportData) -> Section:
    """The confusion-matrix heatmap, the headline numbers and the most-confused pairs."""
    section = Section("confusion", "Confusion matrix")
    evaluation = report.evaluation
    if evaluation is None:
        section.blocks.append(note(report.notes["evaluation"]))
        return section
    figure = plots.confusion_heatmap(evaluation["classes"],
                                     np.asarray(evaluation["confusion_matrix"]),
                                     np.asarray(evaluation["confusion_matrix_normalized"]))
    top_k = ", ".join(f"top-{k} accuracy {v:.4f}"
                      for k, v in evaluation.get("top_k_accuracy", {}).items())
    section.blocks += [
        paragraph(f"Evaluated: {report.evaluation_source}, {evaluation['samples']:,} images. "
                  f"Accuracy "
                  f"{evaluation['accuracy']:.4f}, loss {evaluation['loss']:.4f}"
                  + (f", {top_k}" if top_k else "")
                  + f", expected calibration error {evaluation['calibration']['ece']:.4f}. "
                  "Rows are true classes, columns predicted classes; the colour is the "
                  "share of the true class."),
        Plot("confusion", plots.png_bytes(figure), "confusion matrix heatmap")]
    pairs = evaluation["most_confused"][:MOST_CONFUSED_SHOWN]
    if pairs:
        section.blocks.append(table(
            ("true class", "predicted as", "images", "share of true class"),
            ((p["true"], p["predicted"], f"{p['count']:,}", f"{p['fraction']:.1%}")
             for p in pairs), "llrr"))
    return section


def per_class_section(report: ReportData) -> Section:
    """Precision, recall and F1 of every class, as bars and as a table with the averages."""
    section = Section("per-class", "Per-class scores")
    evaluation = report.evaluation
    if evaluation is None:
        section.blocks.append(note(report.notes["evaluation"]))
        return section
    rows = evaluation["per_class"]
    scores = {key: [row[key] for row in rows] for key in ("precision", "recall", "f1")}
    figure = plots.per_class_bars([row["class"] for row in rows], scores)
    averages = [(f"{kind} avg", evaluation[f"{kind}_avg"]) for kind in ("macro", "weighted")]
    section.blocks += [
        Plot("per_class", plots.png_bytes(figure), "precision, recall and F1 per class"),
        table(("class", "precision", "recall", "F1", "images"),
              [(row["class"], *_scores(row)) for row in rows]
              + [(name, *_scores(values)) for name, values in averages], "lrrrr"),
        paragraph("Recall is the accuracy on the images of a class; precision is the share "
                  "of the images predicted as a class that belong to it.", "muted")]
    return section


def _scores(row: dict) -> tuple[str, ...]:
    return (f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
            f"{row['support']:,}")


def worst_section(report: ReportData) -> Section:
    """The evaluated images with the highest loss (mostly misclassified ones): each with its
    true class, the predicted class and the predicted probability."""
    section = Section("worst", "Misclassified and highest-loss images")
    evaluation = report.evaluation
    if evaluation is None:
        section.blocks.append(note(report.notes["evaluation"]))
        return section
    examples = evaluation["worst_examples"]
    if not examples:
        section.blocks.append(note("the evaluation kept no examples"))
        return section
    wrong = sum(e["true"] != e["predicted"] for e in examples)
    section.blocks.append(paragraph(
        f"The {len(examples)} images with the highest loss, highest first, for "
        f"{report.evaluation_source}. {wrong} of them are misclassified (red captions: true "
        "class, predicted class and its probability), the others right but unsure (green)."))
    images = _images_of(report, examples)
    if isinstance(images, str):
        section.blocks.append(note(images))
    else:
        captions = [f"true: {plots.short(e['true'])}\npred: {plots.short(e['predicted'])}"
                    f"\np = {e['probability_predicted']:.2f}" for e in examples]
        figure = plots.example_grid(images, captions,
                                    [e["true"] == e["predicted"] for e in examples])
        section.blocks.append(Plot("worst", plots.png_bytes(figure),
                                   "the highest-loss images with their classes"))
    section.blocks.append(table(
        ("image", "true class", "predicted", "p(predicted)", "p(true)", "loss"),
        ((e["path"] or f"#{e['index']}", e["true"], e["predicted"],
          f"{e['probability_predicted']:.3f}", f"{e['probability_true']:.3f}",
          f"{e['loss']:.2f}") for e in examples), "lllrrr", "wide"))
    return section


def _images_of(report: ReportData, examples: list[dict]) -> list[np.ndarray] | str:
    """The pixels of the examples, or why they cannot be shown."""
    dataset = report.evaluated
    if dataset is None:
        return report.notes.get("data", "the evaluated images were not loaded")
    for example in examples:
        index = example["index"]
        if (index >= len(dataset)
                or dataset.class_names[dataset.labels[index]] != example["true"]
                or (dataset.paths is not None and dataset.paths[index] != example["path"])):
            return ("the images are not shown: the data no longer matches the evaluated "
                    f"images (image #{index} differs)")
    return [dataset.images[example["index"]] for example in examples]
