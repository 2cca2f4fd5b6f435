"""Evaluation of an image classifier: accuracy, top-k, loss, per-class precision/recall/F1,
confusion matrix, most-confused pairs, worst examples and calibration.

- :func:`metrics_from_predictions` works on labels and probabilities in memory (NumPy only).
- :func:`evaluate_model` predicts batch by batch over a dataset of any size.

Both return an :class:`Evaluation`; the definitions are in docs/evaluation.md.
"""

from .accumulate import Accumulator, metrics_from_predictions
from .calibration import Calibration
from .classes import align_classes
from .result import ConfusedPair, Evaluation
from .stream import evaluate_model
from .worst import Example

__all__ = ["Accumulator", "Calibration", "ConfusedPair", "Evaluation", "Example",
           "align_classes", "evaluate_model", "metrics_from_predictions"]
