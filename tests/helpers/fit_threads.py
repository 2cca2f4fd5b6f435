"""``fit()`` on a fixed number of threads, without the thread tuner, as ``cnnkit train
--threads N`` trains: the tests that compare runs need the same threads every step."""

from __future__ import annotations

from cnnkit.train.history import History
from cnnkit.train.loop import Trainer


def fit_on_threads(model, *args, threads: int, **fit) -> History:
    """``model.fit(*args, **fit)`` on ``threads`` threads."""
    plan = model.fit_plan(*args, **fit)
    return Trainer(model, plan.task, model.precision, threads=threads).run(plan)
