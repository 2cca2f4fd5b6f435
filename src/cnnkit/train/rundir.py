"""The run directory: where a training run keeps everything it produces. :class:`RunDir`
is the one place its layout is spelled, for the files' writers and readers alike.

::

    runs/NAME/
      config.yaml        the resolved settings
      history.csv        one row per epoch: logs, learning rate, seconds, img/s, data wait
      log.txt            what the run printed
      model/best/        the best epoch's model (lowest val_loss), as model.save writes it
      model/last/        the latest epoch's model
      checkpoint/last.ckpt   everything needed to resume exactly
      metrics.json       final test metrics, when there is a test split
      report.html, report/*.png   the report and its plots
      .cnnkit-run        marks the folder as a run directory cnnkit created

An existing directory is never overwritten silently: a new run gets a ``-2``, ``-3``...
suffix unless ``overwrite`` is set. The one exception is a directory whose run failed
before its first checkpoint (its log.txt ends with the error, see :meth:`RunLog.failure`)
and which holds nothing but cnnkit's files: it holds nothing to resume, so the next run
with that name reuses it instead of making ``NAME-2``. ``overwrite`` replaces only an empty
folder or a run directory as cnnkit wrote it (:func:`check_replaceable`): never a folder
holding anything else, the current directory, or the new run's own inputs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import sys
import warnings
from collections.abc import Iterator
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path

from ..atomic import write_text_atomically
from ..errors import ConfigError

HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                   "epoch_seconds", "images_per_second", "data_wait_seconds")


RUN_MARKER = ".cnnkit-run"  # written into every new run directory
FAILURE = "run failed: "  # starts the last line of a failed run's log.txt
AFTER_FAILURE = ("report: ", "warning: the report")  # what a failed run may log after it
# Everything a run writes, folder by folder (names or patterns): None is a file, a dict a
# folder, "*" a saved model (a file or a folder whose inside is cnnkit's own).
RUN_LAYOUT: dict = {
    RUN_MARKER: None, "config.yaml": None, "history.csv": None, "log.txt": None,
    "metrics.json": None, "report.html": None, "report": {"*.png": None},
    "model": {"best": "*", "last": "*"}, "checkpoint": {"last.ckpt": None}}


def _entry(*parts: str, doc: str) -> property:
    """A property of :class:`RunDir`: the path of ``parts`` under the run directory."""
    return property(lambda self: self.path.joinpath(*parts), doc=doc)


class RunDir:
    """The paths of a run directory's files (see the layout above and ``RUN_LAYOUT``)."""

    marker = _entry(RUN_MARKER, doc="``.cnnkit-run``: a run directory cnnkit created.")
    config = _entry("config.yaml", doc="``config.yaml``: the resolved settings, written first.")
    history = _entry("history.csv", doc="``history.csv``: one row per epoch.")
    log = _entry("log.txt", doc="``log.txt``: what the run printed.")
    metrics = _entry("metrics.json", doc="``metrics.json``: the final test evaluation.")
    checkpoint = _entry("checkpoint", "last.ckpt",
                        doc="``checkpoint/last.ckpt``: everything needed to resume exactly.")
    report = _entry("report.html", doc="``report.html``: the report.")
    plots = _entry("report", doc="``report/``: the report's plots as PNG files.")

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def model(self, which: str) -> Path:
        """``model/best`` or ``model/last``."""
        return self.path / "model" / which

    def is_run(self) -> bool:
        """True when the folder has a ``config.yaml`` (every run writes it first)."""
        return self.config.is_file()

    def failure(self) -> str | None:
        """The error that ended the run (log.txt's last line but for the report's, written
        by :meth:`RunLog.failure`), or None when it did not fail."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return None
        while lines and lines[-1].startswith(AFTER_FAILURE):
            lines.pop()
        return lines[-1][len(FAILURE):] if lines and lines[-1].startswith(FAILURE) else None

    def failed_early(self) -> bool:
        """A run directory cnnkit made whose run failed before its first checkpoint and model,
        holding nothing but cnnkit's files: nothing in it can be resumed."""
        return (self.marker.is_file() and not self.checkpoint.exists()
                and not (self.path / "model").exists() and self.failure() is not None
                and not _foreign_entries(self.path, RUN_LAYOUT))
_REFUSED = "--overwrite refused, nothing was deleted"


def new_run_dir(requested: Path, overwrite: bool, inputs: tuple = ()) -> Path:
    """Create and return the run directory: ``requested``, or the first free suffix. With
    ``overwrite``, an empty folder is used as it is and a previous run directory is
    replaced; anything else raises (see :func:`check_replaceable`)."""
    if requested.exists() and not requested.is_dir():
        raise ConfigError(f"the run directory {requested} is a file",
                          hint="give --out a folder name; nothing was written")
    if overwrite and requested.exists():
        check_replaceable(requested, inputs)
        if any(requested.iterdir()):
            shutil.rmtree(requested)
        requested.mkdir(exist_ok=True)
        RunDir(requested).marker.touch()
        return requested
    path = requested
    suffix = 2
    while path.exists() and not (path.is_dir() and RunDir(path).failed_early()):
        path = requested.with_name(f"{requested.name}-{suffix}")
        suffix += 1
    if path.exists():
        shutil.rmtree(path)  # a failed run's own files, nothing to resume (failed_early)
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the run directory {path}: {exc.strerror}",
                          hint="give --out a place you can write to") from exc
    RunDir(path).marker.touch()
    return path


def check_replaceable(path: Path, inputs: tuple = ()) -> None:
    """Raise a :class:`ConfigError` unless ``--overwrite`` may delete ``path``: it must be an
    empty folder, or a run directory (``.cnnkit-run`` or ``config.yaml``) holding nothing but
    what a run writes; never the current directory or a folder around it, and never a
    folder holding one of ``inputs`` (the data, validation, test and model paths)."""
    if not path.exists():
        return
    here = path.resolve()
    cwd = Path.cwd().resolve()
    if here == cwd or here in cwd.parents:
        raise ConfigError(f"{_REFUSED}: --out {path} is the current directory or holds it",
                          hint="give the run a folder of its own, e.g. --out runs/NAME")
    if path.is_symlink() or not path.is_dir():
        raise ConfigError(f"{_REFUSED}: --out {path} is not a folder",
                          hint="choose another --out, e.g. --out runs/NAME")
    for source in inputs:
        if source and Path(source).exists():
            where = Path(source).resolve()
            if where == here or here in where.parents:
                raise ConfigError(f"{_REFUSED}: --out {path} holds this run's input {source}",
                                  hint="move the input out of that folder, or choose "
                                       "another --out")
    if not any(path.iterdir()):
        return
    foreign = _foreign_entries(path, RUN_LAYOUT)
    if not (RunDir(path).marker.is_file() or RunDir(path).is_run()) or foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                          if len(foreign) > 5 else "")
        raise ConfigError(
            f"{_REFUSED}: {path} is not a run directory cnnkit wrote"
            + (f"; it holds {shown}" if foreign else ""),
            hint="--overwrite only replaces a folder a previous 'cnnkit train' created; "
                 "choose another --out (e.g. --out runs/NAME), or move those files away "
                 "first")


def _foreign_entries(directory: Path, layout: dict, prefix: str = "") -> list[str]:
    """Entries under ``directory`` that a run does not write (its atomic writes' leftover
    temporary files, ``.<name>.*``, count as its own)."""
    foreign = []
    for entry in sorted(directory.iterdir()):
        name = entry.name
        if name not in layout and any(name.startswith(f".{known}.") for known in layout):
            continue
        inner = next((kind for known, kind in layout.items() if fnmatch(name, known)), "")
        is_dir = entry.is_dir() and not entry.is_symlink()
        if inner == "" or entry.is_symlink() or (isinstance(inner, dict) != is_dir
                                                 and inner != "*"):
            foreign.append(prefix + name + ("/" if is_dir else ""))
        elif isinstance(inner, dict):
            foreign += _foreign_entries(entry, inner, f"{prefix}{name}/")
    return foreign


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


def _as_warning(text: str) -> str:
    """``warning: text``; a diagnosis finding says its severity already (``[warning] ...``)."""
    return text if text.startswith("[") else f"warning: {text}"


class RunLog:
    """Prints a line (unless quiet) and appends it to ``log.txt``."""

    def __init__(self, path: Path, quiet: bool = False):
        self.path = path
        self.quiet = quiet

    def __call__(self, message: str = "") -> None:
        self._print(message, sys.stdout, show=not self.quiet)

    def result(self, message: str) -> None:
        """A result line: printed on stdout even when quiet (``-q`` prints only these), and
        logged."""
        self._print(message, sys.stdout, show=True)

    def file_only(self, message: str) -> None:
        """Log a line without printing it (the console already shows it another way)."""
        self._print(message, sys.stdout, show=False)

    def note(self, message: str) -> None:
        """A notice for the user (stderr) that is also logged."""
        self._print(message, sys.stderr, show=not self.quiet)

    @contextlib.contextmanager
    def warnings_noted(self) -> Iterator[None]:
        """Within the block, Python warnings (a validation split that lacks a class, a last
        image left out) are this log's notes: ``warning: ...`` on stderr and in log.txt."""
        with warnings.catch_warnings():
            warnings.showwarning = lambda message, *_: self.note(_as_warning(str(message)))
            yield

    def failure(self, exc: BaseException) -> None:
        """Record the error that ends the run as one line of log.txt, its last but for the
        report's (not printed: the command line prints it with its hint)."""
        text = str(exc) if str(exc) else type(exc).__name__
        self.file_only(FAILURE + " ".join(text.split()))

    def _print(self, message: str, stream, show: bool) -> None:
        if show:
            print(message, file=stream, flush=True)
        with open(self.path, "a") as f:
            f.write(message + "\n")
