"""Keras-style progress: a bar per epoch on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import os
import sys
import time

from tqdm.auto import tqdm


def resolve_verbose(verbose) -> int:
    """Keras's ``verbose``: "auto" is 1 (bar) on a terminal and 2 (line per epoch) elsewhere."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


MIN_BAR_COLUMNS = 40  # narrower, a bar would hide the metrics: one line per epoch instead


def terminal_columns() -> int:
    """The width of the terminal stdout shows on (a large number when it has none, since
    then nothing is cut)."""
    try:
        return os.get_terminal_size().columns  # of file descriptor 1, stdout
    except (OSError, ValueError):
        return 1_000


def format_logs(logs: dict[str, float]) -> str:
    """``accuracy: 0.9912 - loss: 0.0282 - val_accuracy: ...`` as Keras prints it."""
    shown = {k: v for k, v in logs.items() if k != "learning_rate"}
    return " - ".join(f"{k}: {v:.4f}" for k, v in sorted(shown.items()))


class EpochProgress:
    """Shows one epoch's progress; ``verbose`` 0 silent, 1 bar, 2 one line at the end."""

    def __init__(self, verbose: int, epoch: int, epochs: int, steps: int, start_step: int = 0):
        if verbose == 1 and terminal_columns() < MIN_BAR_COLUMNS:
            verbose = 2  # a terminal of width 0 (or a few columns) would cut the metrics off
        self.verbose = verbose
        self.steps = steps
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.bar = None
        if verbose in (1, 2):
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        if verbose == 1:
            self.bar = tqdm(total=steps, initial=start_step, unit="step", leave=True,
                            dynamic_ncols=True, file=sys.stdout,
                            bar_format="{n_fmt}/{total_fmt} {bar} {elapsed}<{remaining} "
                                       "{rate_fmt}{postfix}")

    def update(self, step: int, logs_fn, images_per_second: float) -> None:
        """Advance to ``step`` (1-based); ``logs_fn()`` gives the running logs (called
        at most ten times a second)."""
        if self.bar is None:
            return
        now = time.perf_counter()
        if now - self.last_draw < 0.1 and step < self.steps:
            return
        self.last_draw = now
        self.bar.n = step
        self.bar.set_postfix_str(f"{images_per_second:,.0f} img/s - {format_logs(logs_fn())}",
                                 refresh=False)
        self.bar.refresh()

    def close(self, logs: dict[str, float], seconds: float) -> None:
        """Finish the epoch's display with its final logs."""
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.close()
        elif self.verbose == 2:
            per_step = 1000 * seconds / max(self.steps, 1)
            print(f"{self.steps}/{self.steps} - {seconds:.0f}s - {per_step:.0f}ms/step - "
                  f"{format_logs(logs)}", flush=True)
