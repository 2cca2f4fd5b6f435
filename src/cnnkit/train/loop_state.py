"""Where training stands, as checkpoints save and restore it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .metrics import Metric


@dataclass
class LoopState:
    """Where training stands: the next batch to run and the epoch's running sums."""

    epoch: int = 0
    step: int = 0
    seed: int = 0
    loss_sum: float = 0.0
    correct: dict[str, float] = field(default_factory=dict)
    seen: int = 0
    wait_seconds: float = 0.0
    train_seconds: float = 0.0

    def start_epoch(self, epoch: int) -> None:
        """Reset the running sums for ``epoch``."""
        self.epoch, self.step, self.loss_sum, self.seen = epoch, 0, 0.0, 0
        self.correct = {}
        self.wait_seconds = self.train_seconds = 0.0

    def logs(self, metrics: list[Metric]) -> dict[str, float]:
        """The running training logs of this epoch."""
        seen = max(self.seen, 1)
        return {"loss": self.loss_sum / seen,
                **{m.name: self.correct.get(m.name, 0.0) / seen for m in metrics}}

    def to_dict(self) -> dict:
        """JSON-ready form, for checkpoints."""
        return asdict(self)
