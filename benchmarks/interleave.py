"""How repeats are taken and summarised, so that contenders see the same machine load.

The machines these run on are shared: other jobs come and go, and a contender measured a
minute after another may see a different machine. So every contender runs once per
round, the rounds repeat, and the order within a round rotates (no contender always
goes first, right after a warm machine's idle moment, or last). Each contender's number is
the median over rounds; a ratio between two contenders is the median of the per-round
ratios, which cancels load that changes from round to round.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable


def interleaved(jobs: dict[str, Callable[[], float]], rounds: int,
                log: Callable[[str], None] = lambda _: None) -> dict[str, list[float]]:
    """Run each job once per round for ``rounds`` rounds; returns every job's samples."""
    names = list(jobs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(jobs[name]())
        log(f"  round {round_ + 1}/{rounds}: "
            + ", ".join(f"{name} {samples[name][-1]:,.1f}" for name in names))
    return samples


def summary(samples: list[float]) -> dict:
    """Median, spread and the samples themselves (rounded for the JSON file)."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "samples": [round(s, 3) for s in samples]}


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median of the per-round ratios ``numerator[i] / denominator[i]``."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))
