"""Keras losses on torch, with a softmax/sigmoid output fused into the loss.

A model whose last layer is ``softmax`` (or ``sigmoid``) trains on logits with
``cross_entropy`` (or ``binary_cross_entropy_with_logits``): the same maths as Keras's
probability-space loss, without its clipping and overflow. Reduction follows Keras: the mean
over the batch of ``sample_weight * loss``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..naming import (
    did_you_mean,
    parameter_names,
    refuse_unsupported,
    reject_unknown_keywords,
)

_ALIASES = {
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "scce": "sparse_categorical_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "cce": "categorical_crossentropy",
    "binary_crossentropy": "binary_crossentropy",
    "bce": "binary_crossentropy",
}
_FUSABLE = {"sparse_categorical_crossentropy": "softmax", "categorical_crossentropy": "softmax",
            "binary_crossentropy": "sigmoid"}
_EPS = 1e-7  # Keras's backend epsilon, used when the output is given as probabilities


@dataclass
class Loss:
    """A Keras loss: ``name``, ``from_logits`` and ``label_smoothing`` as in Keras."""

    name: str
    from_logits: bool = False
    label_smoothing: float = 0.0

    @property
    def sparse_labels(self) -> bool:
        """True when labels are class indices, not one-hot rows."""
        return self.name == "sparse_categorical_crossentropy"

    @property
    def binary(self) -> bool:
        """True for binary (sigmoid) classification."""
        return self.name == "binary_crossentropy"

    def fuses(self, activation: str | None) -> bool:
        """True when ``activation`` on the model output can be folded into this loss."""
        return not self.from_logits and _FUSABLE[self.name] == activation

    def __call__(self, output: torch.Tensor, target: torch.Tensor, on_logits: bool,
                 sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        """Mean loss; ``on_logits`` says whether ``output`` holds logits or probabilities."""
        per_sample = self.per_sample(output, target, on_logits)
        if sample_weight is not None:
            per_sample = per_sample * sample_weight
        return per_sample.mean()

    def per_sample(self, output: torch.Tensor, target: torch.Tensor, on_logits: bool
                   ) -> torch.Tensor:
        """The loss of each sample, shape ``(N,)``."""
        output = output.float()
        if self.binary:
            target = target.float().reshape(output.shape)
            if self.label_smoothing:
                target = target * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
            if on_logits:
                loss = F.binary_cross_entropy_with_logits(output, target, reduction="none")
            else:
                p = output.clamp(_EPS, 1 - _EPS)
                loss = -(target * p.log() + (1 - target) * (1 - p).log())
            return loss.reshape(len(loss), -1).mean(dim=1)
        log_probs = (F.log_softmax(output, dim=1) if on_logits
                     else (output / output.sum(dim=1, keepdim=True)).clamp(_EPS, 1.0).log())
        if self.sparse_labels:
            if not self.label_smoothing:
                return F.nll_loss(log_probs, target.long().reshape(-1), reduction="none")
            target = F.one_hot(target.long().reshape(-1), output.shape[1]).float()
        target = target.float()
        if self.label_smoothing:
            target = target * (1 - self.label_smoothing) + self.label_smoothing / output.shape[1]
        return -(target * log_probs).sum(dim=1)

    def get_config(self) -> dict:
        """JSON-ready constructor arguments."""
        return {"name": self.name, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


def _keras_loss_arguments(loss: Loss, kwargs: dict, reduction: str, axis: int,
                          ignore_class=None) -> None:
    """Check the Keras arguments a loss class takes besides its maths: ``name`` and
    ``dtype`` are accepted (cnnkit computes in float32 and logs the loss as ``loss``);
    ``reduction``, ``axis`` and ``ignore_class`` must keep their defaults."""
    where = f"{type(loss).__name__}()"
    reject_unknown_keywords(where, kwargs, parameter_names(type(loss).__init__))
    refuse_unsupported(where, reduction=(reduction, "sum_over_batch_size"), axis=(axis, -1),
                       ignore_class=(ignore_class, None))


class SparseCategoricalCrossentropy(Loss):
    """``keras.losses.SparseCategoricalCrossentropy`` (``label_smoothing`` is a cnnkit
    addition)."""

    def __init__(self, from_logits: bool = False, ignore_class=None,
                 reduction: str = "sum_over_batch_size", name: str | None = None,
                 dtype=None, label_smoothing: float = 0.0, **kwargs):
        _keras_loss_arguments(self, kwargs, reduction, -1, ignore_class)
        super().__init__("sparse_categorical_crossentropy", from_logits, label_smoothing)


class CategoricalCrossentropy(Loss):
    """``keras.losses.CategoricalCrossentropy``."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str | None = None,
                 dtype=None, **kwargs):
        _keras_loss_arguments(self, kwargs, reduction, axis)
        super().__init__("categorical_crossentropy", from_logits, label_smoothing)


class BinaryCrossentropy(Loss):
    """``keras.losses.BinaryCrossentropy``."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str | None = None,
                 dtype=None, **kwargs):
        _keras_loss_arguments(self, kwargs, reduction, axis)
        super().__init__("binary_crossentropy", from_logits, label_smoothing)


def get(loss: str | Loss | dict) -> Loss:
    """A :class:`Loss` from a Keras name, a loss object or a saved config."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, dict):
        return Loss(**loss)
    key = str(loss).lower()
    if key not in _ALIASES:
        raise ConfigError(f"unknown loss {loss!r}", hint=did_you_mean(key, _FUSABLE))
    return Loss(_ALIASES[key])
