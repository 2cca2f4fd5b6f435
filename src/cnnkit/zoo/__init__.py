"""Named architectures: ``zoo.get("tutorial-mnist", input_shape, num_classes)``."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from ..naming import did_you_mean
from .tutorial import small_cnn, tutorial_cifar10, tutorial_mnist

ARCHITECTURES: dict[str, Callable] = {
    "tutorial-mnist": tutorial_mnist,
    "tutorial-cifar10": tutorial_cifar10,
    "small-cnn": small_cnn,
}


def names() -> list[str]:
    """The built-in architecture names."""
    return sorted(ARCHITECTURES)


def get(name: str, input_shape, num_classes: int, **options):
    """A new, untrained model of the named architecture for this input and class count."""
    key = name.lower().replace("_", "-")
    if key not in ARCHITECTURES:
        raise ConfigError(f"unknown model {name!r}", hint=did_you_mean(key, ARCHITECTURES))
    return ARCHITECTURES[key](tuple(input_shape), num_classes, **options)


__all__ = ["ARCHITECTURES", "get", "names", "small_cnn", "tutorial_cifar10", "tutorial_mnist"]
