"""The thread tuner keeps whichever thread count makes steps faster, and re-checks."""

from __future__ import annotations

import pytest
import torch

from cnnkit.train import threads as tuner_module
from cnnkit.train.threads import PROBE_STEPS, WARMUP_STEPS, ThreadTuner


class Clock:
    """A fake clock whose step length depends on the thread count in use."""

    def __init__(self, seconds_per_step: dict[int, float]):
        self.now = 0.0
        self.seconds_per_step = seconds_per_step

    def step(self) -> None:
        self.now += self.seconds_per_step[torch.get_num_threads()]

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def restore_threads(monkeypatch):
    monkeypatch.setattr(tuner_module, "_last_decision", {})
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _run(tuner: ThreadTuner, clock: Clock, steps: int) -> list[int]:
    used = []
    for _ in range(steps):
        used.append(torch.get_num_threads())
        clock.step()
        tuner.step_done()
    return used


@pytest.mark.parametrize(("timing", "winner"), [
    ({2: 0.007, 1: 0.009}, 2),   # an idle machine: both cores help
    ({2: 0.500, 1: 0.090}, 1),   # the other core is busy: two threads stall each other
])
def test_the_faster_setting_wins(monkeypatch, restore_threads, timing, winner):
    clock = Clock(timing)
    monkeypatch.setattr(tuner_module.time, "perf_counter", clock)
    tuner = ThreadTuner(2, torch.set_num_threads)
    used = _run(tuner, clock, WARMUP_STEPS + 2 * PROBE_STEPS + 1 + 20)
    assert set(used[:WARMUP_STEPS + PROBE_STEPS]) == {2}  # probes all cores first
    assert 1 in used  # then one thread
    assert used[-20:] == [winner] * 20
    tuner.finish()
    assert torch.get_num_threads() == 2


def test_it_checks_again_when_the_machine_changes(monkeypatch, restore_threads):
    clock = Clock({2: 0.5, 1: 0.09})
    monkeypatch.setattr(tuner_module.time, "perf_counter", clock)
    tuner = ThreadTuner(2, torch.set_num_threads, recheck_seconds=5.0)
    _run(tuner, clock, 40)
    assert torch.get_num_threads() == 1
    clock.seconds_per_step = {2: 0.007, 1: 0.009}  # the other job finished
    used = _run(tuner, clock, 600)
    assert used[-50:] == [2] * 50


def test_a_new_fit_within_the_minute_reuses_the_decision(monkeypatch, restore_threads):
    clock = Clock({2: 0.5, 1: 0.09})
    monkeypatch.setattr(tuner_module.time, "perf_counter", clock)
    first = ThreadTuner(2, torch.set_num_threads, recheck_seconds=30.0)
    _run(first, clock, 40)
    first.finish()
    assert torch.get_num_threads() == 2
    second = ThreadTuner(2, torch.set_num_threads, recheck_seconds=30.0)  # the next fit() call
    assert torch.get_num_threads() == 2  # until its first step: a failing fit keeps both
    assert _run(second, clock, 20) == [2] + [1] * 19  # then no probing on two threads
    clock.now += 60.0  # later than the recheck interval: probe again
    third = ThreadTuner(2, torch.set_num_threads, recheck_seconds=30.0)
    assert _run(third, clock, WARMUP_STEPS + PROBE_STEPS)[0] == 2
