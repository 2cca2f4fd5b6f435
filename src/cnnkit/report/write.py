"""Write a run's report: ``report.html`` (self-contained) and each plot as
``report/<name>.png``."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_bytes_atomically, write_text_atomically
from ..train.rundir import RunDir, RunLog
from .document import render
from .gather import gather


def write_report(run_dir, data=None, progress: bool = True) -> Path:
    """Write ``run_dir/report.html`` and ``run_dir/report/*.png``; returns the HTML path.

    ``data`` is the run's RunData when the caller already holds it (otherwise the data is
    loaded again with the run's config.yaml, at the model's input size). Sections whose
    input is missing (no history, no metrics.json, no saved model, data that cannot be
    loaded) say why instead of failing. Raises a ConfigError when ``run_dir`` has no
    config.yaml.
    """
    paths = RunDir(run_dir)
    report = gather(paths.path, data=data, progress=progress)
    document, sections = render(report)
    folder = paths.plots
    folder.mkdir(exist_ok=True)
    written = set()
    for plot in (plot for section in sections for plot in section.plots):
        write_bytes_atomically(folder / f"{plot.name}.png", plot.png)
        written.add(f"{plot.name}.png")
    for stale in folder.glob("*.png"):  # plots of an earlier report this one has no data for
        if stale.name not in written:
            stale.unlink()
    write_text_atomically(paths.report, document)
    return paths.report


def write_run_report(directory: Path, data, log: RunLog, quiet: bool) -> None:
    """The report at the end of ``cnnkit train``: its path is logged, and a failure is
    logged as a warning, so that it never costs the run that was just trained."""
    try:
        path = write_report(directory, data=data, progress=not quiet)
    except Exception as exc:  # the run's own files are written already: keep them
        log.note(f"warning: the report could not be written: {type(exc).__name__}: {exc}")
        return
    log(f"report: {path}")
