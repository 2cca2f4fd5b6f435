"""Keras's ``use_ema``: an exponential moving average of the trainable weights.

After every optimizer step, ``average = m * average + (1 - m) * weight`` with
``m = ema_momentum``, except at the first step, where the average starts as the weights
themselves (Keras 3's ``_update_model_variables_moving_average``). At the end of ``fit()``
the weights are overwritten by their averages (Keras's ``finalize_variable_values``), so
``evaluate``, ``predict`` and ``save`` use them. As in Keras only trainable weights are
averaged: BatchNorm's moving statistics stay as training left them.
"""

from __future__ import annotations

import torch


class WeightAverage:
    """The moving average of a list of weights."""

    def __init__(self, momentum: float):
        self.momentum = float(momentum)
        self.averages: list[torch.Tensor] = []
        self.steps = 0

    def update(self, weights: list[torch.Tensor]) -> None:
        """Fold the weights after an optimizer step into the average."""
        with torch.no_grad():
            if self.steps == 0 or len(self.averages) != len(weights):
                self.averages = [w.detach().clone() for w in weights]
            else:
                torch._foreach_lerp_(self.averages, [w.detach() for w in weights],
                                     1.0 - self.momentum)
        self.steps += 1

    def copy_to(self, weights: list[torch.Tensor]) -> None:
        """Overwrite ``weights`` with their averages (nothing before the first step)."""
        if not self.steps:
            return
        with torch.no_grad():
            for weight, average in zip(weights, self.averages, strict=True):
                weight.copy_(average)

    def state_dict(self) -> dict:
        """The averages and step count, for checkpoints."""
        return {"steps": self.steps, "averages": [a.clone() for a in self.averages]}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`."""
        self.steps = int(state["steps"])
        self.averages = [a.clone() for a in state["averages"]]
