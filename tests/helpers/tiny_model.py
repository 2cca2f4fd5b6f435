"""A small CNN trained for a moment on real Fashion-MNIST images, for the tests that need a
trained model (predict, summary). It is trained once per test session."""

from __future__ import annotations

import functools

import numpy as np

from cnnkit import layers as L
from cnnkit.data import load
from cnnkit.models import Sequential
from cnnkit.seeding import set_seed

TRAIN_IMAGES = 600
TINY_PARAMS = 13_610  # conv 3x3x1x8 + 8, dense 13*13*8*10 + 10


@functools.cache
def trained_model() -> Sequential:
    """Conv2D(8) - MaxPooling2D - Flatten - Dense(10, softmax) on 28x28x1, fitted for two
    epochs on the first 600 images of fashion-mnist-mini (class names included)."""
    train = load("fashion-mnist-mini", split="train", progress=False)
    set_seed(0)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"),
                        L.MaxPooling2D(2), L.Flatten(), L.Dense(10, activation="softmax")],
                       name="tiny")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(train.subset(slice(0, TRAIN_IMAGES)), epochs=2, verbose=0)
    return model


def fashion_test_images(n: int) -> np.ndarray:
    """The first ``n`` real images of fashion-mnist-mini's test split, uint8 (n, 28, 28, 1)."""
    return np.array(load("fashion-mnist-mini", split="test", progress=False).images[:n])
