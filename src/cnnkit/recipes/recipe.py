"""The recipe format: an architecture and its training settings in one readable object.

Each recipe lives in its own file of this package (``mnist_fast.py`` holds ``mnist-fast``)
as a module-level ``RECIPE = Recipe(...)``; the package finds the files itself
(``cnnkit.recipes.names()``); its docstring says what was tried. Every setting states
its unit. Settings that ``cnnkit train``
also has a flag for are written in that flag's syntax (``schedule``, ``augment``), so a
recipe reads like the command line it stands for, and an explicit flag overrides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ConfigError
from ..train.optimizers import Optimizer
from ..train.optimizers import get as get_optimizer


class Published(NamedTuple):
    """A published result to compare with: who, the test accuracy, and what it cost."""

    who: str          # the paper, leaderboard or project, with its model
    accuracy: float   # test accuracy, a fraction (0.995 = 99.5 %)
    cost: str         # time and hardware, or compute, as published


@dataclass(frozen=True)
class Recipe:
    """A network and how to train it (see docs/training.md, "Recipes")."""

    name: str                        # what --recipe takes, e.g. "mnist-fast"
    dataset: str                     # built-in data it was tuned on: mnist, fashion-mnist, cifar10
    summary: str                     # one line for 'cnnkit recipes'
    build: Callable                  # (input_shape (H, W, C), num_classes) -> uncompiled Model
    image_size: int                  # px, side of the square images it was tuned at
    epochs: int                      # passes over the training images
    batch_size: int                  # images per optimizer step
    optimizer: Mapping               # Keras optimizer: {"name": "sgd", "learning_rate": peak
                                     # rate of the schedule, other keyword arguments of
                                     # keras.optimizers.<Name> (l2 or weight_decay per step, ...)}
    schedule: str = "constant"       # learning rate over the run, in --schedule syntax;
                                     # warm-up lengths in epochs, the rest fractions of the run
    label_smoothing: float = 0.0     # share of each target spread evenly over all classes
    ema: float | None = None         # decay per optimizer step of the weights' moving average
                                     # (Keras's ema_momentum); None: no average
    augment: str = "none"            # train-time ops in --augment syntax; crop pads in px
    tta: str | None = None           # test-time averaging: "flip" (the image and its mirror)
    precision: str = "auto"          # auto (bf16 where the CPU has it natively), fp32, bf16
    val_split: float = 0.0           # fraction of training images held out for validation
    target: float = 0.0              # test accuracy it aims at, a fraction (0.99 = 99 %)
    budget: float | None = None      # s from process start to reach target: 2 idle cores,
                                     # cached data (benchmarks/run.py --only tta checks it)
    published: tuple[Published, ...] = ()  # results elsewhere, for 'cnnkit recipes'
    measured: str = ""               # this project's number (docs/performance.md, "Recipes")

    def __post_init__(self):
        if self.tta not in (None, "flip"):
            raise ConfigError(f"recipe {self.name}: tta must be 'flip' or None, "
                              f"got {self.tta!r}")
        if self.ema is not None and not 0.0 < self.ema < 1.0:
            raise ConfigError(f"recipe {self.name}: ema must be a decay in (0, 1), "
                              f"got {self.ema!r}")
        self.make_optimizer()  # a typo in the optimizer fails on import, not mid-run

    def make_optimizer(self) -> Optimizer:
        """A fresh Keras optimizer as the recipe says (with its weight average, if any)."""
        arguments = dict(self.optimizer)
        optimizer = get_optimizer(arguments.pop("name"))
        ema = {"use_ema": True, "ema_momentum": self.ema} if self.ema is not None else {}
        return type(optimizer)(**arguments, **ema)

    def run_settings(self) -> dict:
        """The recipe as ``cnnkit train`` settings (keys of RunConfig)."""
        optimizer = self.make_optimizer()
        settings = {"data": self.dataset, "epochs": self.epochs,
                    "batch_size": self.batch_size, "optimizer": optimizer.name,
                    "lr": optimizer.learning_rate, "schedule": self.schedule,
                    "label_smoothing": self.label_smoothing, "augment": self.augment,
                    "precision": self.precision, "val_split": self.val_split,
                    "ema": self.ema, "tta": self.tta,
                    "weight_decay": (optimizer.options.get("l2")
                                     or optimizer.options.get("weight_decay") or 0.0)}
        if optimizer.name == "sgd":
            settings.update(momentum=optimizer.options["momentum"],
                            nesterov=optimizer.options["nesterov"])
        return settings
