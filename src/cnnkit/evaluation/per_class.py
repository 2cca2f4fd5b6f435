"""Per-class precision, recall and F1 from a confusion matrix, and their averages.

The definitions are scikit-learn's ``classification_report(y_true, y_pred,
zero_division=0)``: a ratio whose denominator is zero counts as 0; the macro average is the
plain mean over the classes that occur in the labels or the predictions, the weighted
average weighs those classes by their support (number of true samples).
"""

from __future__ import annotations

import numpy as np


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (``zero_division=0``)."""
    numerator = numerator.astype(np.float64)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def class_scores(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """``precision``, ``recall``, ``f1`` and ``support`` per class of a confusion matrix
    whose rows are true classes and columns predicted classes."""
    confusion = np.asarray(confusion, dtype=np.int64)
    true_positives = np.diag(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    return {
        "precision": _ratio(true_positives, predicted),
        "recall": _ratio(true_positives, support),
        # 2PR / (P + R) written without P and R, as scikit-learn computes it
        "f1": _ratio(2 * true_positives, support + predicted),
        "support": support,
    }


def averages(confusion: np.ndarray) -> dict[str, dict[str, float]]:
    """``{"macro": ..., "weighted": ...}``, each with ``precision``, ``recall``, ``f1`` and
    ``support``, over the classes present in the labels or the predictions."""
    scores = class_scores(confusion)
    confusion = np.asarray(confusion)
    present = (confusion.sum(axis=1) + confusion.sum(axis=0)) > 0
    support = scores["support"][present]
    total = int(support.sum())
    result = {}
    for name, weights in (("macro", None), ("weighted", support)):
        result[name] = {
            key: (float(np.average(scores[key][present], weights=weights))
                  if total else 0.0)
            for key in ("precision", "recall", "f1")}
        result[name]["support"] = total
    return result
