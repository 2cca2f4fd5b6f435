"""Is training waiting for its data? Read from the per-epoch timing of ``History``."""

from __future__ import annotations

from .context import Context
from .finding import Finding

INPUT_BOUND_FRACTION = 0.2   # share of training time spent waiting for the next batch
INPUT_BOUND_MIN_SECONDS = 2  # shorter runs are too short to judge


def input_bound(ctx: Context) -> Finding | None:
    """More than a fifth of the training time was spent waiting for batches."""
    rows = [row for row in ctx.timing
            if "epoch_seconds" in row and "data_wait_seconds" in row]
    seconds = sum(row["epoch_seconds"] for row in rows)
    if not rows or seconds < INPUT_BOUND_MIN_SECONDS:
        return None
    waiting = sum(row["data_wait_seconds"] for row in rows)
    fraction = waiting / seconds
    if fraction <= INPUT_BOUND_FRACTION:
        return None
    worst = max(range(len(rows)), key=lambda i: rows[i]["data_wait_seconds"]
                / max(rows[i]["epoch_seconds"], 1e-9))
    return Finding("input_bound", "warning",
                   f"training spent {fraction:.0%} of its time waiting for data",
                   {"waiting_fraction": fraction, "data_wait_seconds": waiting,
                    "training_seconds": seconds, "worst_epoch": worst + 1}, [
                       "keep the decoded-image cache ($CNNKIT_CACHE) on a local SSD, with "
                       "enough free memory to hold it",
                       "use a larger batch size, so each batch costs less per image",
                       "leave the CPU cores to training: batches are prepared in a "
                       "background thread that competes with other busy programs"])
