"""Keras's use_ema on real Fashion-MNIST images: after fit() the weights are the moving
average of the weights after each step, computed here by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import layers as L
from cnnkit.data import load
from cnnkit.errors import ConfigError
from cnnkit.models import Sequential
from cnnkit.seeding import set_seed
from cnnkit.train.callbacks import Callback
from cnnkit.train.optimizers import SGD

STEPS, BATCH, MOMENTUM = 3, 20, 0.9


class RecordWeights(Callback):
    """The model's weights after every training step."""

    def __init__(self):
        self.after_step: list[list[np.ndarray]] = []

    def on_train_batch_end(self, batch, logs=None):
        self.after_step.append([w.copy() for w in self.model.get_weights()])


def fitted(use_ema: bool) -> tuple[Sequential, RecordWeights]:
    """A small CNN after 3 SGD steps on 60 real images, and its weights after each step."""
    train = load("fashion-mnist-mini", split="train", progress=False).subset(
        slice(0, STEPS * BATCH))
    set_seed(0)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"),
                        L.MaxPooling2D(2), L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(optimizer=SGD(0.5, momentum=0.9, use_ema=use_ema, ema_momentum=MOMENTUM),
                  loss="sparse_categorical_crossentropy")
    record = RecordWeights()
    model.fit(train, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    return model, record


def test_weights_after_fit_are_the_hand_computed_average():
    model, record = fitted(use_ema=True)
    assert len(record.after_step) == STEPS
    average = record.after_step[0]  # Keras: the average starts as the first step's weights
    for weights in record.after_step[1:]:
        average = [MOMENTUM * a + (1 - MOMENTUM) * w for a, w in zip(average, weights, strict=True)]
    final = model.get_weights()
    for got, want, last in zip(final, average, record.after_step[-1], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert not np.allclose(got, last)  # the average is not the last step's weights


def test_without_ema_the_weights_are_the_last_step():
    model, record = fitted(use_ema=False)
    for got, last in zip(model.get_weights(), record.after_step[-1], strict=True):
        np.testing.assert_array_equal(got, last)


def test_ema_momentum_out_of_range_is_refused():
    with pytest.raises(ConfigError, match="ema_momentum"):
        SGD(0.1, use_ema=True, ema_momentum=1.5)


def test_optimizer_config_keeps_the_average_settings():
    config = SGD(0.1, use_ema=True, ema_momentum=0.999).get_config()
    assert (config["use_ema"], config["ema_momentum"]) == (True, 0.999)
