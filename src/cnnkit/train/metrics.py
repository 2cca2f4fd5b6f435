"""Keras metrics as running counts: accuracy and top-k accuracy.

Each metric turns a batch into a count of correct samples; the trainer sums counts over an
epoch, so the reported value is exact over the whole epoch, not an average of averages.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError
from ..naming import did_you_mean

_NAMES = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy",
          "binary_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy")


@dataclass
class Metric:
    """A metric's Keras log ``name`` and, for top-k, ``k``."""

    name: str
    k: int = 1

    def correct(self, output: torch.Tensor, target: torch.Tensor, binary: bool,
                sparse: bool) -> torch.Tensor:
        """Number of correct samples in the batch (a 0-d tensor)."""
        if binary:
            predicted = (output.reshape(len(output), -1) > 0.5)
            truth = target.reshape(len(target), -1) > 0.5
            return (predicted == truth).float().mean(dim=1).sum()
        labels = target.long().reshape(-1) if sparse else target.argmax(dim=1)
        if self.k == 1:
            return (output.argmax(dim=1) == labels).sum()
        k = min(self.k, output.shape[1])
        top = output.topk(k, dim=1).indices
        return (top == labels[:, None]).any(dim=1).sum()


class TopKCategoricalAccuracy(Metric):
    """``keras.metrics.TopKCategoricalAccuracy(k=5)``."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy"):
        super().__init__(name, k)


def get(metric: str | Metric) -> Metric:
    """A :class:`Metric` from a Keras name or object; logs use Keras's names."""
    if isinstance(metric, Metric):
        return metric
    key = str(metric).lower()
    if key not in _NAMES:
        raise ConfigError(f"unknown metric {metric!r}", hint=did_you_mean(key, _NAMES))
    if "top_k" in key:
        return Metric(key, 5)
    return Metric("accuracy" if key in ("accuracy", "acc") else key)
