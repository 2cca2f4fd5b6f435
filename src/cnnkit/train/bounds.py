"""The valid range of every numeric training setting, in one table: ``cnnkit train``'s flags
check it as they are parsed (an argparse usage error), ``RunConfig.validate`` checks it for
``--config`` files and the Python API. A value outside it never reaches training: a
negative clip norm, for one, would turn every step into gradient ascent."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    """A whole number or a finite number between ``low`` and ``high`` (either may be None);
    ``low_open`` / ``high_open`` exclude the end itself."""

    whole: bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        """The range in words, e.g. ``a number greater than 0`` or ``a number in [0, 1)``."""
        kind = "a whole number" if self.whole else "a number"
        if self.low is not None and self.high is not None:
            return (f"{kind} in {'(' if self.low_open else '['}{self.low:g}, "
                    f"{self.high:g}{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{kind} {'greater than' if self.low_open else 'of at least'} {self.low:g}"
        return kind

    def admits(self, value) -> bool:
        """True when ``value`` has the right type and lies in the range."""
        if isinstance(value, bool) or not isinstance(value, int if self.whole else int | float):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open
                                     else value <= self.high)


_POSITIVE = Bounds(False, 0, low_open=True)
_COUNT = Bounds(True, 1)

SETTINGS: dict[str, Bounds] = {
    "epochs": _COUNT,
    "batch_size": _COUNT,
    "val_split": Bounds(False, 0, 1, high_open=True),
    "fraction": Bounds(False, 0, 1, low_open=True),
    "lr": _POSITIVE,
    "momentum": Bounds(False, 0, 1),          # Keras's SGD refuses momentum outside [0, 1]
    "weight_decay": Bounds(False, 0),
    "label_smoothing": Bounds(False, 0, 1, high_open=True),
    "clip_norm": _POSITIVE,
    "ema": Bounds(False, 0, 1, low_open=True, high_open=True),  # decay per step
    "early_stopping": _COUNT,
    "freeze_epochs": _COUNT,
    "threads": _COUNT,
    "checkpoint_minutes": _POSITIVE,
    "checkpoint_steps": _COUNT,
}


LABELS = {"lr": "learning rate", "early_stopping": "early stopping patience"}


def label(name: str) -> str:
    """A setting's name in words (``clip_norm`` -> ``clip norm``)."""
    return LABELS.get(name, name.replace("_", " "))


def problem(name: str, value) -> str | None:
    """Why ``value`` cannot be setting ``name`` (None when it can, or is unset)."""
    bounds = SETTINGS[name]
    if value is None or bounds.admits(value):
        return None
    return f"{label(name)} must be {bounds.describe()}, got {value!r}"


def flag_type(name: str) -> Callable[[str], int | float]:
    """An argparse ``type=`` for setting ``name``: parses the text and checks the range, so
    ``--clip-norm -1`` is a usage error that says what is allowed."""
    bounds = SETTINGS[name]

    def parse(text: str) -> int | float:
        try:
            value = int(text) if bounds.whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {bounds.describe().split(' in ')[0]}") from None
        if not bounds.admits(value):
            raise argparse.ArgumentTypeError(
                f"{text} is out of range: {label(name)} must be {bounds.describe()}")
        return value

    parse.__name__ = name
    return parse
