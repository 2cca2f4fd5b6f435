"""The Keras MNIST tutorial CNN trained briefly on real MNIST digits, once per test session,
for the tests that need a model that has learned real features (Grad-CAM, feature maps).

500 training digits per class (5,000) are read from ``../shared/data/mnist-png.tar.gz`` in
one pass, with 10 test digits per class; two epochs give about 93 % test accuracy.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import SHARED_DATA, archive_sample, pixels

from cnnkit import zoo
from cnnkit.models import Sequential
from cnnkit.seeding import set_seed

TRAIN_PER_CLASS = 500
TEST_PER_CLASS = 10
EPOCHS = 2


def _arrays(split: dict[str, list[bytes]], per_class: int) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for digit in range(10):
        for data in split[str(digit)][:per_class]:
            images.append(pixels(data))
            labels.append(digit)
    return np.stack(images)[..., None], np.array(labels)


@functools.cache
def mnist_digits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train"|"test": (uint8 (N, 28, 28, 1) digits, labels)}``; skips without the data."""
    archive = SHARED_DATA / "mnist-png.tar.gz"
    if not archive.is_file():
        pytest.skip(f"{archive} is not available")
    sample = archive_sample(archive, TRAIN_PER_CLASS)
    return {"train": _arrays(sample["train"], TRAIN_PER_CLASS),
            "test": _arrays(sample["test"], TEST_PER_CLASS)}


@functools.cache
def trained_mnist() -> Sequential:
    """The tutorial CNN (conv2d, max_pooling2d, conv2d_1, max_pooling2d_1, flatten, dense,
    dense_1), seeded, trained for two epochs; compiled, so its softmax is fused into the
    loss and the network outputs logits."""
    x, y = mnist_digits()["train"]
    set_seed(0)
    model = zoo.get("tutorial-mnist", (28, 28, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=EPOCHS, batch_size=32, verbose=0)
    return model
