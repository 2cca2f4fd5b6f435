"""Objects reused across fits behave as in Keras, and logits are turned into probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnkit.data import load
from cnnkit.evaluation import evaluate_model
from cnnkit.keras import callbacks, layers, losses, models, optimizers, utils


@pytest.fixture(scope="module")
def mini():
    return load("fashion-mnist-mini", split="train", progress=False)


def _dense(activation="softmax"):
    return models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(),
                              layers.Dense(10, activation=activation)])


def test_an_optimizer_object_reused_after_a_rebuild_trains_the_new_weights(mini):
    utils.set_random_seed(0)
    optimizer = optimizers.Adam()
    model = _dense()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(mini.images[:64], mini.labels[:64], verbose=0)
    model.pop()
    model.add(layers.Dense(10, activation="softmax", name="new_head"))
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    before = model.state_snapshot()
    model.fit(mini.images[:64], mini.labels[:64], verbose=0)
    after = model.state_snapshot()
    assert not torch.equal(before["ops.new_head.weight"], after["ops.new_head.weight"])


def test_early_stopping_reused_for_a_second_fit_starts_afresh(mini):
    utils.set_random_seed(1)
    model = _dense()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    stopper = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    model.fit(mini.images[:256], mini.labels[:256], epochs=3, verbose=0, callbacks=[stopper])
    first_best = stopper.best
    second = model.fit(mini.images[256:512], mini.labels[256:512], epochs=3, verbose=0,
                       callbacks=[stopper])
    assert stopper.best == pytest.approx(min(second.history["loss"]))
    assert stopper.best != first_best


def test_terminate_on_nan_stops_without_an_error(mini):
    model = _dense()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = mini.images[:96].astype(np.float32) / 255.0
    x[40] = np.nan
    history = model.fit(x, mini.labels[:96], batch_size=32, shuffle=False, epochs=3, verbose=0,
                        callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.epoch) == 1  # stopped in the first epoch, at batch 2
    assert all(np.isfinite(v.numpy()).all() for v in model.state_snapshot().values())


def test_evaluation_of_a_logits_model_uses_probabilities(mini):
    test = load("fashion-mnist-mini", split="test", progress=False)
    utils.set_random_seed(2)
    model = _dense(activation=None)
    model.compile(optimizer="adam",
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(mini.images[:512], mini.labels[:512], epochs=2, verbose=0)
    loss, accuracy = model.evaluate(test, verbose=0)
    evaluation = evaluate_model(model, test, progress=False)
    assert evaluation.loss == pytest.approx(loss, rel=1e-4)
    assert evaluation.accuracy == pytest.approx(accuracy)
    assert 0.0 <= evaluation.ece <= 1.0


def test_a_model_folder_caught_mid_replacement_still_loads(mini, tmp_path):
    model = _dense()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "best")
    (tmp_path / "best").rename(tmp_path / ".best.old-123")  # a crash between two renames
    loaded = models.load_model(tmp_path / "best")
    np.testing.assert_array_equal(loaded.predict(mini.images[:4]), model.predict(mini.images[:4]))
