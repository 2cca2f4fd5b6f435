"""``cnnkit train --recipe NAME``: a recipe's settings for a run, where the command line
and the config file leave them (recipes/notes.py says what the run took)."""

from __future__ import annotations

from ..recipes import get as get_recipe
from ..train.config import RunConfig


def apply_recipe(config: RunConfig, given: set[str]) -> RunConfig:
    """``config`` with its recipe's settings where ``given`` (the settings the command line
    or the config file set) does not name them. The data defaults to the recipe's dataset;
    other data is resized to the recipe's image size unless ``image_size`` is given. An
    unknown recipe is a ConfigError (did-you-mean) before anything is read or written."""
    recipe = get_recipe(config.recipe)
    settings = {key: value for key, value in recipe.run_settings().items()
                if key not in given}
    data = config.data if "data" in given else recipe.dataset
    if data != recipe.dataset and "image_size" not in given:
        settings["image_size"] = recipe.image_size
    return config.merged({**settings, "recipe": recipe.name})

