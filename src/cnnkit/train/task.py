"""What a fit learns (:class:`Task`) and from what, how (:class:`FitPlan`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .batches import ArraySource
from .losses import Loss
from .metrics import Metric


@dataclass
class Task:
    """What is being learned: the loss, the metrics and whether the net outputs logits."""

    loss: Loss
    metrics: list[Metric]
    on_logits: bool

    def outputs_for_metrics(self, output: torch.Tensor) -> torch.Tensor:
        """Probabilities for binary metrics (thresholded at 0.5); argmax needs no change."""
        if self.loss.binary and self.on_logits:
            return torch.sigmoid(output.float())
        return output


@dataclass
class FitPlan:
    """One fit's data and settings, checked: what ``Model.fit`` resolves from Keras's
    arguments and a :class:`~cnnkit.train.loop.Trainer` runs."""

    task: Task
    train: ArraySource
    val: ArraySource | None
    batch_size: int
    epochs: int
    shuffle: bool = True
    verbose: int = 0
    callbacks: list = field(default_factory=list)
    initial_epoch: int = 0
