"""Learning-rate schedules: values at key steps by hand, OneCycleLR parity, names and errors."""

from __future__ import annotations

import json
import math

import pytest
import torch

from cnnkit.errors import ConfigError
from cnnkit.train.callbacks import ReduceLROnPlateau
from cnnkit.train.schedules import is_plateau, make_schedule, parse_schedule, plateau_callback


def test_step_decay_drops_every_third_of_the_run_by_default() -> None:
    # 10 epochs: a drop every ceil(10 / 3) = 4 epochs, i.e. at epochs 4 and 8.
    schedule = make_schedule("step", 0.1, epochs=10, steps_per_epoch=10)
    values = {s: schedule(s) for s in (0, 39, 40, 79, 80, 99)}
    assert values == pytest.approx({0: 0.1, 39: 0.1, 40: 0.01, 79: 0.01, 80: 0.001,
                                    99: 0.001}, rel=1e-12)


def test_step_decay_with_options() -> None:
    schedule = make_schedule("step", 1.0, epochs=10, steps_per_epoch=4, step_epochs=3,
                             gamma=0.5)
    assert [schedule(e * 4) for e in range(10)] == \
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_cosine_with_warmup_at_key_steps() -> None:
    # 4 epochs of 10 steps, 1 warmup epoch: 10 warmup steps, then 30 steps of decay.
    schedule = make_schedule("cosine", 0.1, epochs=4, steps_per_epoch=10, warmup_epochs=1)
    assert schedule(0) == pytest.approx(0.01, rel=1e-12)          # 1/10 of the way up
    assert schedule(9) == pytest.approx(0.1, rel=1e-12)           # warmup ends at base_lr
    assert schedule(10) == pytest.approx(0.1, rel=1e-12)          # decay starts there
    assert schedule(25) == pytest.approx(0.05, rel=1e-12)         # half-way: t = 15/30
    last = 0.1 * (1 + math.cos(math.pi * 29 / 30)) / 2
    assert schedule(39) == pytest.approx(last, rel=1e-12)
    assert schedule(500) == schedule(39), "steps past the end keep the last rate"


def test_cosine_min_lr_fractional_warmup_and_no_warmup() -> None:
    schedule = make_schedule("cosine", 0.1, epochs=2, steps_per_epoch=10, warmup=0.5,
                             min_lr=0.01)
    assert schedule(0) == pytest.approx(0.02, rel=1e-12)          # 5 warmup steps
    assert schedule(4) == pytest.approx(0.1, rel=1e-12)
    assert schedule(5 + 15 // 2) == pytest.approx(0.01 + 0.09 * (1 + math.cos(
        math.pi * 7 / 15)) / 2, rel=1e-12)
    plain = make_schedule("cosine", 0.1, epochs=2, steps_per_epoch=10)
    assert plain(0) == 0.1 and plain(10) == pytest.approx(0.05, rel=1e-12)


@pytest.mark.parametrize(("epochs", "steps", "options"), [
    (3, 7, {}),
    (5, 100, {"pct_start": 0.25, "div_factor": 10, "final_div_factor": 100}),
    (1, 3, {}),
    (2, 5, {"pct_start": 0.15}),
])
def test_onecycle_matches_torch_onecycle_lr(epochs: int, steps: int, options: dict) -> None:
    schedule = make_schedule("onecycle", 0.05, epochs, steps, **options)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.05, momentum=0.9)
    reference = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.05, epochs=epochs, steps_per_epoch=steps,
        **{k: float(v) for k, v in options.items()})
    for step in range(epochs * steps):
        assert abs(schedule(step) - optimizer.param_groups[0]["lr"]) < 1e-9, step
        optimizer.step()
        reference.step()


def test_onecycle_peaks_at_base_lr_and_ends_far_below() -> None:
    schedule = make_schedule("onecycle", 0.1, epochs=10, steps_per_epoch=101)
    values = [schedule(s) for s in range(1010)]
    assert max(values) == pytest.approx(0.1, rel=1e-12)
    assert values.index(max(values)) == round(0.3 * 1010) - 1
    assert values[0] == pytest.approx(0.1 / 25) and values[-1] == pytest.approx(0.1 / 25e4)


def test_onecycle_peaking_at_the_first_step_starts_at_base_lr() -> None:
    # pct_start * total_steps == 1: torch's OneCycleLR divides by zero here.
    schedule = make_schedule("onecycle", 0.1, epochs=2, steps_per_epoch=5, pct_start=0.1)
    assert schedule(0) == 0.1 and schedule(9) == pytest.approx(0.1 / 25e4)


@pytest.mark.parametrize("text", ["step", "cosine:warmup=1,min_lr=1e-4", "onecycle"])
def test_stateless_and_rebuilt_from_config(text: str) -> None:
    name, options = parse_schedule(text)
    schedule = make_schedule(name, 0.01, epochs=3, steps_per_epoch=11, **options)
    again = make_schedule(**json.loads(json.dumps(schedule.get_config())))
    # A resumed run asks for steps out of order, from a new object: same answers.
    for step in (32, 0, 17, 11, 5, 32):
        assert again(step) == schedule(step)


@pytest.mark.parametrize("name", ["constant", "plateau", "reduce-on-plateau", "Reduce_On_Plateau"])
def test_constant_and_plateau_are_not_per_step(name: str) -> None:
    assert make_schedule(name, 0.01, epochs=3, steps_per_epoch=5) is None
    assert is_plateau(name) == (name != "constant")


def test_plateau_callback_defaults_and_options() -> None:
    callback = plateau_callback({})
    assert isinstance(callback, ReduceLROnPlateau)
    assert (callback.monitor, callback.factor, callback.patience) == ("val_loss", 0.5, 2)
    callback = plateau_callback({"patience": 4, "monitor": "val_accuracy", "min_lr": 1e-5})
    assert (callback.monitor, callback.mode, callback.patience, callback.min_lr) == \
        ("val_accuracy", "max", 4, 1e-5)
    with pytest.raises(ConfigError, match="did you mean 'patience'"):
        plateau_callback({"patiance": 3})


@pytest.mark.parametrize(("text", "expected"), [
    ("cosine", ("cosine", {})),
    ("cosine:warmup=1", ("cosine", {"warmup": 1})),
    ("step:step_epochs=3,gamma=0.5", ("step", {"step_epochs": 3, "gamma": 0.5})),
    ("One-Cycle", ("onecycle", {})),
    ("plateau:monitor=val_accuracy, patience=3", ("plateau", {"monitor": "val_accuracy",
                                                              "patience": 3})),
    ("reduce-on-plateau", ("plateau", {})),
    (None, ("constant", {})),
    ("", ("constant", {})),
])
def test_parse_schedule(text, expected) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(("make", "message"), [
    (lambda: parse_schedule("cosin"), "did you mean 'cosine'"),
    (lambda: parse_schedule("cosine:warmup"), "cannot read schedule option"),
    (lambda: make_schedule("step", 0.1, 9, 10, gama=0.5), "did you mean 'gamma'"),
    (lambda: make_schedule("cosine", 0.1, 9, 10, warmup="one"), "must be a number"),
    (lambda: make_schedule("cosine", 0.1, 3, 10, warmup=3), "warmup_epochs must be in"),
    (lambda: make_schedule("cosine", 0.1, 3, 10, min_lr=0.2), "min_lr must be in"),
    (lambda: make_schedule("step", 0.1, 3, 10, gamma=2), "gamma in (0, 1]"),
    (lambda: make_schedule("onecycle", 0.1, 3, 10, pct_start=1), "pct_start must be in"),
    (lambda: make_schedule("constant", 0.1, 3, 10, gamma=0.5), "takes no options"),
    (lambda: make_schedule("cosine", 0.0, 3, 10), "must be positive"),
    (lambda: make_schedule("cosine", 0.1, 3, 0), "at least one epoch and one step"),
])
def test_mistakes_get_a_clear_config_error(make, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        make()
    assert message in str(error.value)
