"""The end of a run, and making sure every run gets one: the final test and report after
training (:func:`conclude`), the same steps for a run killed between its last epoch and its
report (:func:`complete`, from ``--resume``), and what a failing run leaves behind
(:func:`recording_failure`: the error in log.txt; after a NaN loss, its last good model and
a report)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import TrainingError
from ..models import load_model
from ..report.write import write_run_report
from ..train.config import RunConfig
from ..train.core_threads import set_torch_threads
from ..train.history import History
from ..train.run_data import RunData, load_run_data
from ..train.rundir import RunDir, RunLog
from .final_test import best_validation, evaluate_test_split


@dataclass
class Run:
    """A finished (or stopped) run: its directory, model and results."""

    directory: Path
    model: object
    history: object
    test_metrics: dict | None


def conclude(run_dir: RunDir, model, data: RunData, logs: dict, log: RunLog, quiet: bool,
             history=None, tta: str | None = None) -> Run:
    """Evaluate the trained ``model`` on the test split (metrics.json; ``tta="flip"``
    averages each image with its mirror), write the report and log the headline; ``logs``
    is the history's ``{name: [value per epoch]}``."""
    test_metrics = evaluate_test_split(model, data.test, run_dir, log, tta)
    write_run_report(run_dir.path, data, log, quiet)
    if test_metrics is None:
        log.result(best_validation(logs))
    log.result(f"run directory: {run_dir.path}")
    return Run(run_dir.path, model, history, test_metrics)


def complete(run_dir: RunDir, config: RunConfig, log: RunLog, quiet: bool, state: dict) -> Run:
    """Finish a run whose training finished (its checkpoint says so) but which stopped
    before its final test or report: both from model/last, which training's end wrote
    before marking the checkpoint finished."""
    log(f"{run_dir.path}: training finished {state['loop']['epoch']} epoch(s) but the run "
        "stopped before its final test and report: finishing them")
    if config.threads:
        set_torch_threads(config.threads)
    model = load_model(run_dir.model("last"))
    model.precision = state.get("precision", model.precision)
    shape = model.input_shape[1:]
    data = load_run_data(config, image_size=shape[:2], channels=shape[2],
                         classes=model.class_names, quiet=quiet)
    history = History.from_dict(state["history"])
    with recording_failure(run_dir, log, model, data, quiet):
        return conclude(run_dir, model, data, history.history, log, quiet, history,
                        tta=config.tta)


@contextmanager
def recording_failure(run_dir: RunDir, log: RunLog, model, data: RunData, quiet: bool):
    """Record an error that ends the run as log.txt's last line, then let it go on; a run
    stopped by a NaN loss first keeps its last good model and writes its report."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, TrainingError):
            _keep_last_good_model(run_dir, model, log)
        log.failure(exc)
        if isinstance(exc, TrainingError):
            write_run_report(run_dir.path, data, log, quiet)  # it shows the failure
        raise


def _keep_last_good_model(run_dir: RunDir, model, log: RunLog) -> None:
    """model/last stays the last finished epoch's; a run stopped in its first epoch saves
    the weights from before the failing batch there, when they are finite."""
    if run_dir.model("last").exists():
        log("model/last keeps the weights of the last finished epoch")
    elif all(torch.isfinite(p).all() for p in model.net.parameters()):
        model.save(run_dir.model("last"))
        log("model/last keeps the weights from before the batch whose loss was not finite")
