"""The run directory: where a training run keeps everything it produces.

::

    runs/NAME/
      config.yaml        the resolved settings
      history.csv        one row per epoch: logs, learning rate, seconds, img/s, data wait
      log.txt            what the run printed
      model/best/        the best epoch's model (lowest val_loss), as model.save writes it
      model/last/        the latest epoch's model
      checkpoint/last.ckpt   everything needed to resume exactly
      metrics.json       final test metrics, when there is a test split

An existing directory is never overwritten silently: a new run gets a ``-2``, ``-3``...
suffix unless ``overwrite`` is set.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from pathlib import Path

from ..atomic import write_text_atomically

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                   "epoch_seconds", "images_per_second", "data_wait_seconds")


def new_run_dir(requested: Path, overwrite: bool) -> Path:
    """Create and return the run directory: ``requested``, or the first free suffix."""
    if overwrite and requested.exists():
        shutil.rmtree(requested)
    path = requested
    suffix = 2
    while path.exists():
        path = requested.with_name(f"{requested.name}-{suffix}")
        suffix += 1
    path.mkdir(parents=True)
    return path


def default_run_name(model: str, data: str) -> str:
    """``<model>-<data>`` from the model and data names, file suffixes removed."""
    def stem(text: str) -> str:
        name = Path(str(text).rstrip("/")).name
        for suffix in (".tar.gz", ".tgz", ".tar", ".zip", ".yaml", ".yml", ".json", ".keras",
                       ".cnnkit", ".csv", ".npz"):
            if name.lower().endswith(suffix):
                return name[: -len(suffix)]
        return name
    return f"{stem(model)}-{stem(data)}"


def write_history_csv(path: Path, rows: list[dict]) -> None:
    """Rewrite ``history.csv`` from the history rows (atomically)."""
    buffer = io.StringIO()
    extra = sorted({k for row in rows for k in row} - set(HISTORY_COLUMNS))
    writer = csv.DictWriter(buffer, fieldnames=[*HISTORY_COLUMNS, *extra], restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    write_text_atomically(path, buffer.getvalue())


class RunLog:
    """Prints a line (unless quiet) and appends it to ``log.txt``."""

    def __init__(self, path: Path, quiet: bool = False):
        self.path = path
        self.quiet = quiet

    def __call__(self, message: str = "") -> None:
        if not self.quiet:
            print(message, flush=True)
        with open(self.path, "a") as f:
            f.write(message + "\n")

    def file_only(self, message: str) -> None:
        """Log a line without printing it (the console already shows it another way)."""
        with open(self.path, "a") as f:
            f.write(message + "\n")

    def note(self, message: str) -> None:
        """A notice for the user (stderr) that is also logged."""
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)
        with open(self.path, "a") as f:
            f.write(message + "\n")
