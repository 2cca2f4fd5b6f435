"""A Sequential used as a layer, and models called on arrays and tensors with ``training=``
(issue 14, item 4): the Keras augmentation-block idiom."""

import numpy as np
import pytest
import torch

from cnnkit.data import load
from cnnkit.errors import LayerError
from cnnkit.keras import backend, layers, models, utils


@pytest.fixture(scope="module")
def mini():
    return load("fashion-mnist-mini", split="train", progress=False)


def _augmentation():
    return models.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)],
                             name="data_augmentation")


def _model(augmentation):
    return models.Sequential([
        layers.Input((28, 28, 1)), augmentation, layers.Rescaling(1.0 / 255),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(10, activation="softmax")])


def test_calling_the_block_augments_only_in_training_mode(mini):
    utils.set_random_seed(0)
    augmentation = _augmentation()
    images = mini.images[:16]
    pixels = torch.from_numpy(images.astype(np.float32))
    trained = augmentation(images, training=True)
    assert isinstance(trained, torch.Tensor) and trained.shape == (16, 28, 28, 1)
    assert not torch.equal(trained, pixels)
    assert float(trained.max()) > 1.0  # raw pixel values, as Keras gives them
    for inference in (augmentation(images, training=False), augmentation(images),
                      augmentation(torch.from_numpy(images))):
        assert torch.equal(inference, pixels)
    shown = augmentation(images, training=True).numpy().astype("uint8")  # the tutorial's idiom
    assert shown.shape == images.shape


def test_the_nested_block_trains_saves_and_shows_as_one_row(mini, tmp_path):
    backend.clear_session()  # short layer names: a long one wraps onto a second row
    utils.set_random_seed(1)
    augmentation = _augmentation()
    model = _model(augmentation)
    assert model.layers[0] is augmentation
    lines = []
    model.summary(print_fn=lines.append)
    rows = [line for line in "\n".join(lines).splitlines() if line.startswith("│")]
    assert rows[0].split("│")[1].strip() == "data_augmentation (Sequential)"
    assert rows[0].split("│")[2].strip() == "(None, 28, 28, 1)"
    assert len(rows) == 6  # the block is one row, as in Keras
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(mini.images[:512], mini.labels[:512], epochs=3, batch_size=32,
                        verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.3
    x = mini.images[512:544]
    np.testing.assert_array_equal(model(x, training=False).numpy(), model.predict(x, verbose=0))
    model.save(tmp_path / "augmented.keras")
    loaded = models.load_model(tmp_path / "augmented.keras")
    assert type(loaded.layers[0]) is models.Sequential
    assert [type(layer).__name__ for layer in loaded.layers[0].layers] == [
        "RandomFlip", "RandomRotation"]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_trained_model_nested_in_a_new_one_keeps_its_weights(mini):
    utils.set_random_seed(2)
    base = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    base.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    base.fit(mini.images[:128], mini.labels[:128], verbose=0)
    trained = base.get_weights()
    model = models.Sequential([base, layers.Dense(3, activation="softmax")])
    assert all(np.array_equal(a, b)
               for a, b in zip(model.get_weights()[:len(trained)], trained, strict=True))
    x = mini.images[:8]
    with torch.no_grad():
        probabilities = base(x).numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)  # softmax kept
    np.testing.assert_array_equal(probabilities, base.predict(x, verbose=0))


def test_calling_a_layer_on_arrays_and_tensors(mini):
    flip = layers.RandomFlip("horizontal", seed=3)
    images = mini.images[:32]
    pixels = torch.from_numpy(images.astype(np.float32))
    assert torch.equal(flip(images), pixels)  # inference by default, values as given
    flipped = flip(images, training=True)
    assert not torch.equal(flipped, pixels)
    assert all(torch.equal(a, b) or torch.equal(a, b.flip(1))
               for a, b in zip(flipped, pixels, strict=True))
    dense = layers.Dense(3, activation="softmax")
    out = dense(torch.ones(4, 5))
    assert out.shape == (4, 3) and [w.shape for w in dense.get_weights()] == [(5, 3), (3,)]
    np.testing.assert_allclose(out.sum(dim=1).numpy(), 1.0, rtol=1e-6)
    with pytest.raises(LayerError, match=r"built for inputs of shape \(5,\)"):
        dense(np.ones((4, 6)))
