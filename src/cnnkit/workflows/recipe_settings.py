"""``cnnkit train --recipe NAME``: a recipe's network and settings for a run, and the log
lines that say what the run took from it, what the command line changed and how the
network was fitted to the user's data."""

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


def recipe_lines(config: RunConfig, image_shape: tuple[int, int, int], classes: int
                 ) -> list[str]:
    """What the run's log says about its recipe: the recipe, each setting a flag or the
    config file changed, and how the network fits data other than the recipe's."""
    recipe = get_recipe(config.recipe)
    lines = [f"recipe {recipe.name}: {recipe.summary}"]
    for key, value in recipe.run_settings().items():
        if key != "data" and getattr(config, key) != value:
            lines.append(f"recipe {recipe.name}: --{key.replace('_', '-')} "
                         f"{getattr(config, key)} overrides the recipe's {value}")
    if config.model:
        lines.append(f"recipe {recipe.name}: --model {config.model} replaces the recipe's "
                     "network; its training settings apply")
    if config.data != recipe.dataset:
        height, width, channels = image_shape
        lines.append(f"recipe {recipe.name} was tuned on {recipe.dataset} at "
                     f"{recipe.image_size}x{recipe.image_size} px; its network is built here "
                     f"for {config.data}: {height}x{width}x{channels} images, {classes} classes")
    return lines

