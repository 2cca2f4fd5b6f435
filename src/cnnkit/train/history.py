"""`History`: what ``fit()`` returns, with Keras's keys and cnnkit's timing per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnosis import diagnose


@dataclass
class History:
    """``history[key]`` is one value per epoch (``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy``, ``learning_rate``); ``epoch`` lists epoch numbers (0-based, as
    Keras); ``timing`` holds per-epoch seconds, images/second and seconds spent waiting
    for data; ``class_counts`` and ``val_class_counts`` the images per class that
    ``fit()`` trained and validated on."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    timing: list[dict[str, float]] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    class_counts: dict[str, int] | None = None
    val_class_counts: dict[str, int] | None = None

    def append(self, epoch: int, logs: dict[str, float], timing: dict[str, float]) -> None:
        """Record one finished epoch."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.timing.append(dict(timing))

    def to_dict(self) -> dict:
        """JSON-ready form (checkpoints keep it to resume)."""
        return {"history": self.history, "epoch": self.epoch, "timing": self.timing}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """Rebuild a history saved with :meth:`to_dict`."""
        return cls(dict(data["history"]), list(data["epoch"]), list(data["timing"]))

    def diagnose(self, **context) -> list:
        """Findings about this run (overfitting, instability, ...); ``context`` takes the
        other arguments of :func:`cnnkit.diagnosis.diagnose` (evaluation, class_counts,
        leakage, num_classes, val_class_counts); the class counts default to those
        ``fit()`` recorded."""
        context.setdefault("class_counts", self.class_counts)
        context.setdefault("val_class_counts", self.val_class_counts)
        return diagnose(self, **context)

    def rows(self) -> list[dict[str, float]]:
        """One dict per epoch with the logs and the timing side by side."""
        return [{"epoch": e + 1, **{k: v[i] for k, v in self.history.items() if i < len(v)},
                 **self.timing[i]} for i, e in enumerate(self.epoch)]
