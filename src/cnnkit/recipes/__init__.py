"""Recipes: networks with training settings tuned for the best accuracy in the time given.

One recipe per module of this package, as its ``RECIPE`` (see :mod:`.recipe` for the
format); a new file is found without being listed anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from ..errors import ConfigError
from ..naming import did_you_mean
from .recipe import Published, Recipe

__all__ = ["Published", "Recipe", "get", "names"]


@cache
def _all() -> dict[str, Recipe]:
    """Every recipe of the package by name."""
    found: dict[str, Recipe] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "recipe":
            continue
        recipe = getattr(importlib.import_module(f"{__name__}.{module.name}"), "RECIPE", None)
        if isinstance(recipe, Recipe):
            found[recipe.name] = recipe
    return dict(sorted(found.items()))


def names() -> list[str]:
    """The recipe names, sorted."""
    return list(_all())


def get(name: str) -> Recipe:
    """The recipe called ``name``; an unknown name gets a did-you-mean ConfigError."""
    recipes = _all()
    key = str(name).strip().lower().replace("_", "-")
    if key not in recipes:
        raise ConfigError(f"unknown recipe {name!r}", hint=did_you_mean(key, recipes)
                          + " ('cnnkit recipes' lists them)")
    return recipes[key]
