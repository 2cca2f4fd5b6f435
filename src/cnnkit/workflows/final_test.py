"""The end of a run: the test split's evaluation, written to metrics.json, or the headline
of a run without one."""

from __future__ import annotations

import json

import numpy as np

from ..atomic import write_text_atomically
from ..data import ImageDataset
from ..evaluation import evaluate_model
from ..train.rundir import RunDir, RunLog


def evaluate_test_split(model, test: ImageDataset | None, run_dir: RunDir, log: RunLog,
                        tta: str | None = None) -> dict | None:
    """Evaluate on the test split; write metrics.json (the full evaluation, see
    docs/evaluation.md) and log the headline numbers. None without test images. With
    ``tta="flip"`` the evaluation averages each image with its mirror image, and
    metrics.json also holds the accuracy without (``test_accuracy_without_tta``)."""
    if test is None or not len(test):
        return None
    evaluation = evaluate_model(model, test, progress=False, tta=tta)
    metrics = {"test_loss": evaluation.loss, "test_accuracy": evaluation.accuracy,
               "test_images": evaluation.samples, **evaluation.to_dict()}
    how = ""
    if tta:
        plain = evaluate_model(model, test, progress=False)
        metrics.update(tta=tta, test_accuracy_without_tta=plain.accuracy)
        how = f", {tta} test-time averaging; without it {plain.accuracy:.4f}"
    write_text_atomically(run_dir.metrics, json.dumps(metrics, indent=2))
    log.result(f"test accuracy: {evaluation.accuracy:.4f} (loss {evaluation.loss:.4f}, "
               f"{evaluation.samples:,} images{how})")
    return metrics


def best_validation(logs: dict) -> str:
    """The headline of a run without a test split: its best validation accuracy (its last
    training accuracy when it held no validation images either)."""
    if logs.get("val_accuracy"):
        best = int(np.argmax(logs["val_accuracy"]))
        return f"best validation accuracy: {logs['val_accuracy'][best]:.4f} (epoch {best + 1})"
    return f"training accuracy: {logs['accuracy'][-1]:.4f} (no validation or test images)"
