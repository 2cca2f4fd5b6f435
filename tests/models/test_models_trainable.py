"""Freezing after building, as in Keras 3 (issue 14, item 3): ``trainable = False`` on a
layer or a model (recursively) makes its weights non-trainable from the next compile():
summary() counts them so, fit() leaves them bit-identical, BatchNormalization runs in
inference mode; unfreezing and compiling again trains them."""

import warnings

import numpy as np
import pytest

from cnnkit.data import load
from cnnkit.keras import layers, models, utils


@pytest.fixture(scope="module")
def mini():
    return load("fashion-mnist-mini", split="train", progress=False)


def _base():
    return models.Sequential([
        layers.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2)],
        name="base")


def _fit(model, data, epochs=1):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(data.images[:256], data.labels[:256], batch_size=32, epochs=epochs,
                     verbose=0)


def _counts(model):
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    return tuple(int(text.split(f" {kind} params: ")[1].split(" ")[0].replace(",", ""))
                 for kind in ("Trainable", "Non-trainable"))


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_freezing_a_nested_base_after_building_then_unfreezing(mini):
    utils.set_random_seed(0)
    base = _base()
    model = models.Sequential([base, layers.Flatten(), layers.Dense(10, activation="softmax")])
    head = model.layers[-1]
    base.trainable = False
    assert _counts(model) == (head.count_params(), base.count_params())
    frozen, head_before = base.get_weights(), head.get_weights()
    _fit(model, mini)
    assert _same(base.get_weights(), frozen)
    assert not _same(head.get_weights(), head_before)
    base.trainable = True
    assert all(layer.trainable for layer in base.layers)
    assert _counts(model) == (model.count_params(), 0)
    _fit(model, mini)
    assert not any(np.array_equal(a, b) for a, b in zip(base.get_weights(), frozen, strict=True))


def test_freezing_one_layer_and_the_whole_model(mini):
    utils.set_random_seed(1)
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
                               layers.Flatten(), layers.Dense(10, activation="softmax")])
    conv = model.layers[0]
    conv.trainable = False
    assert _counts(model) == (model.layers[2].count_params(), conv.count_params())
    before = conv.get_weights()
    _fit(model, mini)
    assert _same(conv.get_weights(), before)
    model.trainable = False
    assert _counts(model) == (0, model.count_params())
    everything = model.get_weights()
    history = _fit(model, mini)  # Keras trains nothing and still reports the loss
    assert np.isfinite(history.history["loss"][0])
    assert _same(model.get_weights(), everything)


def test_a_frozen_batch_norm_keeps_its_statistics_and_runs_in_inference_mode(mini):
    utils.set_random_seed(2)
    norm = layers.BatchNormalization()
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(8, 3), norm,
                               layers.Activation("relu"), layers.Flatten(),
                               layers.Dense(10, activation="softmax")])
    _fit(model, mini)
    norm.trainable = False
    statistics = norm.get_weights()
    _fit(model, mini)
    assert _same(norm.get_weights(), statistics)
    assert _counts(model)[1] == norm.count_params()  # gamma and beta too, as in Keras


def test_changing_trainable_after_compile_warns_to_compile_again(mini):
    utils.set_random_seed(3)
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.layers[1].trainable = False
    with pytest.warns(UserWarning, match=r"compile\(\) again"):
        model.fit(mini.images[:32], mini.labels[:32], verbose=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(mini.images[:32], mini.labels[:32], verbose=0)


def test_a_saved_frozen_model_loads_frozen(mini, tmp_path):
    utils.set_random_seed(4)
    base = _base()
    model = models.Sequential([base, layers.Flatten(), layers.Dense(10, activation="softmax")])
    base.trainable = False
    model.save(tmp_path / "frozen.keras")
    loaded = models.load_model(tmp_path / "frozen.keras")
    assert _counts(loaded) == _counts(model)
    model.trainable = False
    model.save(tmp_path / "all_frozen.keras")
    assert not models.load_model(tmp_path / "all_frozen.keras").trainable


def test_a_model_built_by_its_first_fit_does_not_warn(mini):
    utils.set_random_seed(5)
    model = models.Sequential([layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(mini.images[:32], mini.labels[:32], verbose=0)
