"""A whole training run, above ``models``, ``train``, ``data``, ``evaluation`` and ``report``.

``train(config)`` starts a run in a new run directory, ``resume(run_dir)`` continues one from
its last checkpoint (workflows/training.py). A run loads its data, builds or loads its model,
builds the trainer with the run's plug-ins (workflows/setup.py) and hooks
(workflows/recorder.py), evaluates the test split (workflows/final_test.py) and writes the
report; ``cnnkit train`` calls it.
"""

from .recorder import TrainingInterrupted
from .training import Run, resume, train

__all__ = ["Run", "TrainingInterrupted", "resume", "train"]
