"""The run files written while a run trains: checkpoints, history.csv, model/best and
model/last, log lines."""

from __future__ import annotations

import time

import numpy as np

from ..errors import CnnkitError
from ..kernels.probe import new_decisions
from ..models.saving import model_config
from ..train.checkpoint import write_checkpoint
from ..train.config import RunConfig
from ..train.hooks import TrainerHook
from ..train.rundir import RunDir, RunLog, write_history_csv
from .pretrained import tag_rows


class TrainingInterrupted(CnnkitError):
    """Ctrl-C: a checkpoint was written and the run can be resumed."""

    exit_code = 130


class RunRecorder(TrainerHook):
    """Writes the run files: checkpoints (each epoch, every N minutes or steps, and on
    Ctrl-C), history.csv, model/last and model/best, and log lines."""

    def __init__(self, run_dir: RunDir, config: RunConfig, log: RunLog, interrupt,
                 earlier_rows=()):
        self.run_dir = run_dir
        self.earlier_rows = list(earlier_rows)  # an earlier phase's (a pretrained run's)
        self.config = config
        self.log = log
        self.interrupt = interrupt
        self.last_checkpoint = time.monotonic()
        self.best: float | None = None

    def checkpoint(self, trainer, finished: bool = False) -> None:
        """Write the checkpoint now (atomically)."""
        state = trainer.state_dict()
        state.update(model=model_config(trainer.model), best=self.best, finished=finished)
        write_checkpoint(self.run_dir.checkpoint, state)
        self.last_checkpoint = time.monotonic()

    def after_step(self, trainer) -> None:
        every = self.config.checkpoint_steps
        due = (every and trainer.state.step % every == 0) or (
            time.monotonic() - self.last_checkpoint > 60 * self.config.checkpoint_minutes)
        if self.interrupt.requested:
            self.checkpoint(trainer)
            raise TrainingInterrupted(
                f"interrupted at epoch {trainer.state.epoch + 1}, batch {trainer.state.step}; "
                f"checkpoint saved in {self.run_dir.checkpoint}",
                hint=f"resume with: cnnkit train --resume {self.run_dir.path}")
        if due and trainer.state.step < trainer.steps_per_epoch:
            self.checkpoint(trainer)

    def after_epoch(self, trainer) -> None:
        model = trainer.model
        logs = {k: v[-1] for k, v in trainer.history.history.items()}
        monitored = logs.get("val_loss", logs.get("loss"))
        if monitored is not None and np.isfinite(monitored) and (
                self.best is None or monitored < self.best):
            self.best = monitored
            model.save(self.run_dir.model("best"))
        model.save(self.run_dir.model("last"))
        rows = trainer.history.rows()
        write_history_csv(self.run_dir.history,
                          tag_rows(rows, self.earlier_rows) if self.earlier_rows else rows)
        for line in new_decisions():
            self.log.file_only(line)
        self.checkpoint(trainer)
        self.log.file_only(f"epoch {trainer.history.epoch[-1] + 1}: " + ", ".join(
            f"{k}={v:.4g}" for k, v in logs.items()))

    def finish(self, trainer) -> None:
        """Save the final weights (the best ones after early stopping with restore) as
        model/last and mark the checkpoint finished (also when this process trained no
        epoch: a run resumed from its last epoch's checkpoint)."""
        trainer.model.save(self.run_dir.model("last"))
        self.checkpoint(trainer, finished=True)
