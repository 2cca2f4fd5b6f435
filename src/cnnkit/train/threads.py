"""Use one thread when the other cores are busy, all of them when they are free.

torch's OpenMP threads wait for each other many times per step. When another process holds
one of the cores, every wait can last a scheduler time slice, and a step on two threads
takes 10 to 70 times longer than on an idle machine; one thread is then far faster. The
tuner times a few ordinary training steps with each setting, keeps the faster, and checks
again every minute, so a run adapts when the machine gets busy or quiet. No step is wasted:
the timed steps are normal training steps. The decision outlives one ``fit()``: a fit that
starts within the minute (a loop of short fits, say) uses it instead of probing again.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

WARMUP_STEPS = 3  # oneDNN builds its kernels during the first steps of each setting
PROBE_STEPS = 6
RECHECK_SECONDS = 60.0

_last_decision: dict[int, tuple[int, float]] = {}  # max threads -> (threads, decided at)


class ThreadTuner:
    """Alternate between ``max_threads`` threads and one; keep the faster setting.

    ``use(n)`` makes training use ``n`` threads (``BatchGradients.use_threads``), which
    calls :meth:`step_done` after each step and :meth:`finish` at the end of a fit.
    """

    def __init__(self, max_threads: int, use: Callable[[int], None],
                 recheck_seconds: float = RECHECK_SECONDS):
        self.max_threads = max_threads
        self.use = use
        self.recheck_seconds = recheck_seconds
        self.candidates = [max_threads, 1]
        self.timings: dict[int, list[float]] = {}
        self.probing = 0  # index into candidates while probing, -1 once decided
        self.skip = WARMUP_STEPS
        self.decided_at = 0.0
        self.last = time.perf_counter()
        self.use(self.candidates[0])
        self.reused = 0  # a recent decision, applied from the first step on
        threads, decided_at = _last_decision.get(max_threads, (0, float("-inf")))
        if self.last - decided_at <= recheck_seconds:
            self.probing, self.decided_at, self.reused = -1, decided_at, threads

    def step_done(self) -> None:
        """Time the step that just ended; switch threads when a probe is complete."""
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        if self.reused:  # only now: a fit that fails before its first step keeps all cores
            self.use(self.reused)
            self.reused = 0
        if self.probing < 0:
            if now - self.decided_at > self.recheck_seconds:
                self._start_probe()
            return
        if self.skip > 0:
            self.skip -= 1
            return
        threads = self.candidates[self.probing]
        self.timings.setdefault(threads, []).append(seconds)
        if len(self.timings[threads]) < PROBE_STEPS:
            return
        self.probing += 1
        if self.probing < len(self.candidates):
            self.use(self.candidates[self.probing])
            self.skip = 1
            return
        best = min(self.timings, key=lambda t: statistics.median(self.timings[t]))
        self.use(best)
        self.probing, self.decided_at = -1, now
        _last_decision[self.max_threads] = (best, now)

    def _start_probe(self) -> None:
        self.timings = {}
        self.probing = 0
        self.skip = 1
        self.use(self.candidates[0])

    def finish(self) -> None:
        """The fit ended: back to all the threads."""
        self.use(self.max_threads)
