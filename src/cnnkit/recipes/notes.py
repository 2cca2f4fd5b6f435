"""What a run's log and report say about its recipe: the recipe, each setting a flag or
the config file changed, and how the network was fitted to data other than the recipe's."""

from __future__ import annotations

from ..train.config import RunConfig
from ..train.precision import resolve_precision
from . import get as get_recipe


def recipe_lines(config: RunConfig, image_shape: tuple[int, int, int], classes: int
                 ) -> list[str]:
    """What the run's log says about its recipe: the recipe, each setting a flag or the
    config file changed, and how the network fits data other than the recipe's."""
    recipe = get_recipe(config.recipe)
    lines = [f"recipe {recipe.name}: {recipe.summary}"]
    for key, value in recipe.run_settings().items():
        if key == "data" or (key == "precision" and value == "auto"
                             and config.precision == resolve_precision("auto")[0]):
            continue  # auto precision is recorded as the one it chose
        if getattr(config, key) != value:
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

