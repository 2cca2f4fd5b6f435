"""The CIFAR-10 recipes: their networks build for any image shape they can take, refuse
too-small images with a hint, and learn real CIFAR-10 photos with the recipe's settings."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import recipes
from cnnkit.errors import ShapeError
from cnnkit.train.config import RunConfig
from cnnkit.train.losses import SparseCategoricalCrossentropy
from sample_images import cifar_jpegs, pixels

NAMES = ("cifar10-fast", "cifar10-best")


@pytest.mark.parametrize(("name", "weights"), [("cifar10-fast", 295_992),
                                               ("cifar10-best", 1_975_096)])
def test_networks_at_cifar_size(name, weights):
    model = recipes.get(name).build((32, 32, 3), 10)
    assert model.count_params() == weights
    assert model.final_activation == "softmax"


@pytest.mark.parametrize("shape", [(28, 28, 1), (64, 48, 3), (16, 16, 3)])
def test_other_shapes_and_classes(shape):
    model = recipes.get("cifar10-fast").build(shape, 5)
    images = np.random.default_rng(0).integers(0, 256, (3, *shape), dtype=np.uint8)
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (3, 5)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)


def test_too_small_images_get_a_hint():
    with pytest.raises(ShapeError, match="at least 16x16") as caught:
        recipes.get("cifar10-best").build((12, 12, 3), 10)
    assert "--image-size" in caught.value.hint


def test_fast_recipe_learns_real_photos():
    photos = np.stack([pixels(b) for b in cifar_jpegs(32)])
    labels = np.arange(32) % 4  # arbitrary labels: memorising them shows the net trains
    recipe = recipes.get("cifar10-fast")
    model = recipe.build((32, 32, 3), 4)
    model.compile(optimizer=recipe.make_optimizer(),
                  loss=SparseCategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
                  metrics=["accuracy"])
    history = model.fit(photos, labels, batch_size=32, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    assert history.history["accuracy"][-1] > 0.5


@pytest.mark.parametrize("name", NAMES)
def test_valid_run_settings_with_a_target(name):
    recipe = recipes.get(name)
    RunConfig(**recipe.run_settings()).validate()
    assert recipe.target > 0.8 and recipe.budget > 0
