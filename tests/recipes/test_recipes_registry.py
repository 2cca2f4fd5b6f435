"""The recipe registry: every recipe file is found, builds for any data, and reads as
valid ``cnnkit train`` settings; unknown names get the closest one."""

from __future__ import annotations

import pytest

from cnnkit import recipes
from cnnkit.errors import ConfigError
from cnnkit.recipes import Recipe
from cnnkit.train.config import RunConfig

OURS = {"mnist-fast", "mnist-best", "fashion-mnist-fast", "fashion-mnist-best"}


def test_every_recipe_file_is_found():
    assert set(recipes.names()) >= OURS
    assert all(isinstance(recipes.get(name), Recipe) for name in recipes.names())


@pytest.mark.parametrize("name", sorted(OURS))
def test_a_recipe_is_valid_run_settings_and_builds_for_other_data(name):
    recipe = recipes.get(name)
    RunConfig(**recipe.run_settings()).validate()
    for shape, classes in (((recipe.image_size, recipe.image_size, 1), 10), ((28, 28, 3), 5)):
        model = recipe.build(shape, classes)
        assert model.output_shape == (None, classes)
    assert recipe.target > 0 and recipe.budget > 0
    assert recipe.make_optimizer() is not recipe.make_optimizer()  # fresh for every run


def test_an_unknown_recipe_names_the_closest():
    with pytest.raises(ConfigError, match="unknown recipe") as error:
        recipes.get("mnist-fats")
    assert "did you mean 'mnist-fast'" in error.value.hint


def test_a_recipe_with_a_bad_setting_is_refused_when_written():
    recipe = recipes.get("mnist-fast")
    with pytest.raises(ConfigError, match="tta"):
        Recipe(**{**recipe.__dict__, "tta": "rotate"})
    with pytest.raises(ConfigError, match="optimizer"):
        Recipe(**{**recipe.__dict__, "optimizer": {"name": "sgdd"}})
