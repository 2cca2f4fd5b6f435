"""Per-step learning-rate schedules: the learning rate as a pure function of the global step.

The global step (0-based) is ``epoch * steps_per_epoch + step_in_epoch``. A schedule keeps
no state, so a resumed run gets exactly the learning rates the uninterrupted run would
have had. ``"plateau"`` is not a per-step schedule: it reacts to validation results, so
:func:`make_schedule` returns None for it and :func:`plateau_callback` gives the
:class:`ReduceLROnPlateau` callback. See docs/training.md, "Learning-rate schedules".
"""

from __future__ import annotations

import inspect
import math
from typing import ClassVar

from cnnkit.errors import ConfigError
from cnnkit.naming import did_you_mean
from cnnkit.train.callbacks import ReduceLROnPlateau

_NAME_ALIASES = {"one-cycle": "onecycle", "reduce-on-plateau": "plateau"}
_OPTION_ALIASES = {"warmup": "warmup_epochs"}
PLATEAU_DEFAULTS = {"monitor": "val_loss", "factor": 0.5, "patience": 2}


class Schedule:
    """A learning rate for every global step of a run of ``epochs`` x ``steps_per_epoch``.

    Subclasses set ``name`` and ``defaults`` (their options) and implement :meth:`lr`.
    Steps past the end of the run keep the last step's learning rate.
    """

    name = ""
    defaults: ClassVar[dict[str, float | None]] = {}

    def __init__(self, base_lr: float, epochs: int, steps_per_epoch: int, **options) -> None:
        if not base_lr > 0:
            raise ConfigError(f"the base learning rate must be positive, got {base_lr}")
        if epochs < 1 or steps_per_epoch < 1:
            raise ConfigError(f"a schedule needs at least one epoch and one step per epoch, "
                              f"got {epochs} epochs of {steps_per_epoch} steps")
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise ConfigError(f"schedule {self.name!r} has no option {sorted(unknown)[0]!r}",
                              hint=did_you_mean(sorted(unknown)[0], self.defaults)
                              if self.defaults else f"{self.name!r} takes no options")
        self.base_lr = float(base_lr)
        self.epochs, self.steps_per_epoch = int(epochs), int(steps_per_epoch)
        self.total_steps = self.epochs * self.steps_per_epoch
        self.options = dict(self.defaults)
        for key, value in options.items():
            try:
                self.options[key] = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"schedule {self.name!r}: {key} must be a number, "
                                  f"got {value!r}") from None

    def __call__(self, step: int) -> float:
        """The learning rate for global step ``step`` (0-based)."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        return float(self.lr(min(int(step), self.total_steps - 1)))

    def lr(self, step: int) -> float:
        """The learning rate at ``step`` in ``[0, total_steps)``."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """JSON-ready form: ``make_schedule(**config)`` rebuilds the schedule."""
        return {"name": self.name, "base_lr": self.base_lr, "epochs": self.epochs,
                "steps_per_epoch": self.steps_per_epoch, **self.options}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v:g}" for k, v in self.options.items())
        return f"{self.name}(base_lr={self.base_lr:g}{', ' if options else ''}{options})"


class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_epochs`` epochs: ``base_lr * gamma **
    (epoch // step_epochs)``. By default the rate drops every third of the run
    (``step_epochs = ceil(epochs / 3)``), by 10x."""

    name = "step"
    # step_epochs None: a third of the run
    defaults: ClassVar[dict[str, float | None]] = {"step_epochs": None, "gamma": 0.1}

    def __init__(self, base_lr: float, epochs: int, steps_per_epoch: int, **options) -> None:
        super().__init__(base_lr, epochs, steps_per_epoch, **options)
        if self.options["step_epochs"] is None:
            self.options["step_epochs"] = float(math.ceil(self.epochs / 3))
        if not self.options["step_epochs"] > 0 or not 0 < self.options["gamma"] <= 1:
            raise ConfigError("step schedule: step_epochs must be positive and gamma in (0, 1]"
                              f", got {self.options}")
        self.period = max(1, round(self.options["step_epochs"] * self.steps_per_epoch))

    def lr(self, step: int) -> float:
        return self.base_lr * self.options["gamma"] ** (step // self.period)


class CosineDecay(Schedule):
    """Linear warmup over ``warmup_epochs`` (may be fractional), then cosine decay to
    ``min_lr``.

    During warmup (``w`` steps) step ``s`` gets ``base_lr * (s + 1) / w``, so the last
    warmup step reaches ``base_lr``; after it, with ``t = (s - w) / (total - w)``, the rate
    is ``min_lr + (base_lr - min_lr) * (1 + cos(pi * t)) / 2``, as in PyTorch's
    ``CosineAnnealingLR``: it would reach ``min_lr`` one step after the last.
    """

    name = "cosine"
    defaults: ClassVar[dict[str, float | None]] = {"warmup_epochs": 0.0, "min_lr": 0.0}

    def __init__(self, base_lr: float, epochs: int, steps_per_epoch: int, **options) -> None:
        super().__init__(base_lr, epochs, steps_per_epoch, **options)
        self.warmup_steps = round(self.options["warmup_epochs"] * self.steps_per_epoch)
        if not 0 <= self.warmup_steps < self.total_steps:
            raise ConfigError(f"cosine schedule: warmup_epochs must be in [0, {self.epochs}), "
                              f"got {self.options['warmup_epochs']:g}")
        if not 0 <= self.options["min_lr"] < self.base_lr:
            raise ConfigError(f"cosine schedule: min_lr must be in [0, base_lr={base_lr:g}), "
                              f"got {self.options['min_lr']:g}")

    def lr(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        t = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        low = self.options["min_lr"]
        return low + (self.base_lr - low) * (1 + math.cos(math.pi * t)) / 2


class OneCycle(Schedule):
    """The 1cycle policy, with the learning rates of PyTorch's ``OneCycleLR`` (cosine
    annealing, two phases) with ``max_lr = base_lr``.

    The rate rises from ``base_lr / div_factor`` to ``base_lr`` over the first
    ``pct_start`` of the steps, then falls to ``base_lr / div_factor / final_div_factor``
    at the last step. Momentum is not cycled.
    """

    name = "onecycle"
    defaults: ClassVar[dict[str, float | None]] = {"pct_start": 0.3, "div_factor": 25.0,
                                                   "final_div_factor": 1e4}

    def __init__(self, base_lr: float, epochs: int, steps_per_epoch: int, **options) -> None:
        super().__init__(base_lr, epochs, steps_per_epoch, **options)
        o = self.options
        if not 0 <= o["pct_start"] < 1 or o["div_factor"] <= 0 or o["final_div_factor"] <= 0:
            raise ConfigError("onecycle schedule: pct_start must be in [0, 1) and the "
                              f"div factors positive, got {o}")
        self.initial_lr = self.base_lr / o["div_factor"]
        self.final_lr = self.initial_lr / o["final_div_factor"]
        # Where the rising phase ends, as in OneCycleLR (it may be fractional).
        self.peak_step = o["pct_start"] * self.total_steps - 1

    def lr(self, step: int) -> float:
        if step <= self.peak_step:
            return _cos_anneal(self.initial_lr, self.base_lr,
                               step / self.peak_step if self.peak_step > 0 else 1.0)
        last = self.total_steps - 1
        t = (step - self.peak_step) / (last - self.peak_step)
        return _cos_anneal(self.base_lr, self.final_lr, t)


def _cos_anneal(start: float, end: float, t: float) -> float:
    """Cosine interpolation from ``start`` (t = 0) to ``end`` (t = 1), as OneCycleLR's."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * t) + 1)


SCHEDULES: dict[str, type[Schedule]] = {s.name: s for s in (StepDecay, CosineDecay, OneCycle)}
NAMES = ("constant", *SCHEDULES, "plateau")


def _canonical(name: str) -> str:
    """The schedule's canonical name; unknown names get a did-you-mean error."""
    key = str(name).strip().lower().replace("_", "-")
    key = _NAME_ALIASES.get(key, key)
    if key not in NAMES:
        raise ConfigError(f"unknown learning-rate schedule {name!r}",
                          hint=did_you_mean(key, [*NAMES, *_NAME_ALIASES]))
    return key


def is_plateau(name: str) -> bool:
    """True when ``name`` means reduce-on-plateau (see :func:`plateau_callback`)."""
    return _canonical(name) == "plateau"


def make_schedule(name: str, base_lr: float, epochs: int, steps_per_epoch: int,
                  **options) -> Schedule | None:
    """The named schedule for a run, or None when the learning rate is left alone
    (``"constant"``) or driven by validation results (``"plateau"``: use
    :func:`plateau_callback`).

    Names: ``constant``, ``step`` (options ``step_epochs``, ``gamma``), ``cosine``
    (``warmup_epochs`` or ``warmup``, ``min_lr``), ``onecycle`` (``pct_start``,
    ``div_factor``, ``final_div_factor``), ``plateau`` / ``reduce-on-plateau``.
    """
    key = _canonical(name)
    options = {_OPTION_ALIASES.get(k, k): v for k, v in options.items()}
    if key == "plateau":
        return None
    if key == "constant":
        if options:
            raise ConfigError(f"the constant schedule takes no options, got {sorted(options)}")
        return None
    return SCHEDULES[key](base_lr, epochs, steps_per_epoch, **options)


def plateau_callback(options: dict | None = None) -> ReduceLROnPlateau:
    """The ReduceLROnPlateau callback for ``"plateau"``: ``monitor="val_loss"``,
    ``factor=0.5``, ``patience=2`` unless ``options`` say otherwise (any argument of
    :class:`ReduceLROnPlateau`)."""
    valid = list(inspect.signature(ReduceLROnPlateau).parameters)
    for key in options or {}:
        if key not in valid:
            raise ConfigError(f"plateau schedule has no option {key!r}",
                              hint=did_you_mean(key, valid))
    return ReduceLROnPlateau(**{**PLATEAU_DEFAULTS, **(options or {})})


def _value(text: str) -> int | float | str:
    """An option value from the command line: an int, a float, or the text itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_schedule(text: str | None) -> tuple[str, dict]:
    """``(name, options)`` from a command-line value such as ``"cosine"``,
    ``"cosine:warmup=1"``, ``"step:step_epochs=3,gamma=0.5"`` or ``"onecycle"``.

    The name is checked (did-you-mean on a typo) and made canonical; the options are
    read as numbers where they look like numbers and checked by :func:`make_schedule`
    or :func:`plateau_callback`. None or an empty text means ``"constant"``.
    """
    if not text or not str(text).strip():
        return "constant", {}
    name, _, rest = str(text).partition(":")
    options = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"cannot read schedule option {part!r} in {text!r}",
                              hint="write name:option=value,option=value, e.g. "
                                   "cosine:warmup=1,min_lr=1e-5")
        options[key.strip()] = _value(value.strip())
    return _canonical(name), options
