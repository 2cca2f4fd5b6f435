"""Run-level actions the trainer calls between steps and epochs."""

from __future__ import annotations


class TrainerHook:
    """Run-level actions between steps and epochs (checkpoints, interrupts, run files): a
    subclass overrides what it needs; each method gets the :class:`~cnnkit.train.loop.Trainer`."""

    def after_step(self, trainer) -> None:
        """Called after every optimizer step, once the loop state is up to date."""

    def after_epoch(self, trainer) -> None:
        """Called after an epoch's callbacks, with the state pointing at the next epoch."""

    def after_training(self, trainer) -> None:
        """Called once when ``fit`` ends, normally or not."""
