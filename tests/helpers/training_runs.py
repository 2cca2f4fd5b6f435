"""Short real training runs on the embedded Fashion-MNIST slice that go wrong on purpose,
for the diagnosis tests.

Each run takes a few seconds. They train on one torch thread: for models this small, a
second thread only adds synchronisation, which gets very slow when another process is busy
on the other core.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch

from cnnkit.data import ImageDataset, load
from cnnkit.errors import TrainingError
from cnnkit.keras import layers, models, optimizers, utils
from cnnkit.train.history import History


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on a single thread inside the block."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@functools.cache
def mini(split: str) -> ImageDataset:
    """``fashion-mnist-mini`` (5,000 train / 1,000 test real Fashion-MNIST images)."""
    return load("fashion-mnist-mini", split=split, progress=False)


def _compiled(stack: list, optimizer="adam") -> models.Sequential:
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input((28, 28, 1)), *stack])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def overfitting_run() -> History:
    """100 training images, a large dense head, no regularisation, 20 epochs, validated on
    500 other images."""
    train = mini("train")
    model = _compiled([layers.Flatten(), layers.Dense(512, activation="relu"),
                       layers.Dense(512, activation="relu"),
                       layers.Dense(10, activation="softmax")])
    with one_thread():
        return model.fit(train.images[:100], train.labels[:100], epochs=20, batch_size=20,
                         verbose=0, validation_data=(train.images[1000:1500],
                                                     train.labels[1000:1500]))


def underfitting_run() -> History:
    """One 3x3 filter, global average pooling and a softmax: the model sees one number per
    image (roughly its brightness), 3 epochs on 2,000 images."""
    train = mini("train")
    model = _compiled([layers.Conv2D(1, 3, activation="relu"),
                       layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    with one_thread():
        return model.fit(train.images[:2000], train.labels[:2000], epochs=3, verbose=0,
                         validation_data=(train.images[2000:2500], train.labels[2000:2500]))


def diverging_run(optimizer: str) -> History:
    """A small CNN trained with learning rate 1.0 (``"adam"`` or ``"sgd"``), 8 epochs on
    1,000 images. A NaN loss stops training; the epochs before it are returned."""
    train = mini("train")
    make = {"adam": optimizers.Adam, "sgd": optimizers.SGD}[optimizer]
    model = _compiled([layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
                       layers.Flatten(), layers.Dense(64, activation="relu"),
                       layers.Dense(10, activation="softmax")], make(learning_rate=1.0))
    with one_thread():
        try:
            return model.fit(train.images[:1000], train.labels[:1000], epochs=8, verbose=0,
                             validation_data=(train.images[2000:2500],
                                              train.labels[2000:2500]))
        except TrainingError:
            return model.history
