"""Read what a run directory holds, tolerating what is missing: a run interrupted in its
first epoch has no history.csv, one without a test split no metrics.json.

Each reader returns None (or an empty result) for a missing file and a short reason in
``RunFiles.notes``, so the report can say why a section is empty.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .. import zoo  # noqa: F401  (registers the networks a saved model may name)
from ..errors import CnnkitError, ConfigError
from ..models import load_model
from ..train.config import RunConfig
from ..train.rundir import RunDir

TIMING_COLUMNS = ("epoch_seconds", "images_per_second", "data_wait_seconds")


@dataclass
class RunFiles:
    """The files of one run directory, parsed.

    ``history`` maps Keras log names (``loss``, ``val_accuracy``, ``learning_rate``, ...) to
    one float per epoch (NaN where a row has no value); columns with no value at all are left
    out. ``timing`` has one dict per epoch with the columns of ``TIMING_COLUMNS`` it holds.
    ``metrics`` is metrics.json. ``notes`` maps ``"history"``/``"metrics"`` to why it is
    missing. ``phases`` names each epoch's phase (a pretrained run's ``frozen`` and
    ``fine-tune``; empty for a one-phase run). ``failure`` is the error that ended a failed
    run (from log.txt), else None.
    """

    directory: Path
    config: RunConfig
    history: dict[str, list[float]] = field(default_factory=dict)
    timing: list[dict[str, float]] = field(default_factory=list)
    metrics: dict | None = None
    notes: dict[str, str] = field(default_factory=dict)
    phases: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def epochs(self) -> int:
        """Number of epochs recorded in history.csv."""
        return len(self.timing)


def read_run(directory: Path) -> RunFiles:
    """Parse ``directory``'s config.yaml, history.csv and metrics.json.

    Only config.yaml is required (it is written first, so every run has it): without it the
    directory is not a run directory and a ConfigError says so.
    """
    run_dir = RunDir(directory)
    if not run_dir.is_run():
        raise ConfigError(f"{run_dir.path} is not a run directory (no config.yaml)",
                          hint="give a directory that 'cnnkit train' wrote, e.g. runs/NAME")
    files = RunFiles(run_dir.path, RunConfig.load(run_dir.config), failure=run_dir.failure())
    history_path = run_dir.history
    if history_path.is_file():
        try:
            files.history, files.timing = read_history_csv(history_path)
            files.phases = read_phases(history_path)
        except (OSError, ValueError, csv.Error) as exc:
            files.notes["history"] = f"history.csv could not be read: {exc}"
    else:
        files.notes["history"] = "no epoch finished: the run has no history.csv yet"
    metrics_path = run_dir.metrics
    if metrics_path.is_file():
        try:
            files.metrics = json.loads(metrics_path.read_text())
        except (OSError, ValueError) as exc:
            files.notes["metrics"] = f"metrics.json could not be read: {exc}"
    else:
        files.notes["metrics"] = ("the run wrote no metrics.json (it has no test split, or "
                                  "it stopped before the end)")
    return files


def read_history_csv(path: Path) -> tuple[dict[str, list[float]], list[dict[str, float]]]:
    """``(history, timing)`` from a history.csv written by ``cnnkit train``."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = [c for c in (rows[0] if rows else {}) if c not in ("epoch", "phase")]
    values = {c: [float(row[c]) if row.get(c) else math.nan for row in rows] for c in columns}
    values = {c: v for c, v in values.items() if not all(math.isnan(x) for x in v)}
    timing = [{c: values[c][i] for c in TIMING_COLUMNS if c in values}
              for i in range(len(rows))]
    history = {c: v for c, v in values.items() if c not in TIMING_COLUMNS}
    return history, timing


def read_phases(path: Path) -> list[str]:
    """The ``phase`` column of a history.csv (empty when it has none)."""
    with open(path, newline="") as f:
        return [row.get("phase") or "" for row in csv.DictReader(f)
                if row.get("phase")]


def load_best_model(directory: Path) -> tuple[object | None, str]:
    """``(model, "model/best")``, else ``(model, "model/last")``; ``(None, why)`` when the
    run saved neither or it cannot be loaded."""
    for name in ("best", "last"):
        path = RunDir(directory).model(name)
        if path.exists():
            try:
                return load_model(path, compile=False), f"model/{name}"
            except CnnkitError as exc:
                return None, f"model/{name} could not be loaded: {exc.message}"
    return None, "the run saved no model (it stopped before the end of its first epoch)"
