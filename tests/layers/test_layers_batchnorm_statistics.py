"""BatchNormalization keeps Keras's statistics: the moving variance averages each batch's
biased variance (Keras 3's ``ops.moments``; torch keeps the unbiased one), and a training
batch with one value per channel normalises to beta (torch refuses it). The reference
arithmetic is Keras's ``BatchNormalization.call``, written out here in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnkit.data import load
from cnnkit.keras import layers, models, utils

MOMENTUM = 0.9


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """Real Fashion-MNIST images (the embedded slice) as floats in [0, 1]."""
    return load("fashion-mnist-mini", split="train", progress=False).images[:64] / 255.0


def keras_step(x: np.ndarray, axes: tuple[int, ...], moving_mean: np.ndarray,
               moving_variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras 3's training-mode update of the moving statistics for one batch."""
    mean, variance = x.mean(axis=axes), x.var(axis=axes)  # population (biased) variance
    return (moving_mean * MOMENTUM + mean * (1 - MOMENTUM),
            moving_variance * MOMENTUM + variance * (1 - MOMENTUM))


def built(shape: tuple[int, ...]) -> torch.nn.Module:
    return layers.BatchNormalization(momentum=MOMENTUM).build_module(shape).train()


@pytest.mark.parametrize("case", ["features", "maps"])
def test_moving_statistics_follow_keras(images, case):
    if case == "features":  # Dense -> BatchNormalization: 32 values per channel
        x = images[:, ::4, ::4, 0].reshape(len(images), -1)
        module, torch_x, axes = built((x.shape[1],)), torch.tensor(x), (0,)
    else:  # a 2x2 map of 2 channels: 4 values per image and channel
        x = images[:, 10:12, 10:12, 0:1].repeat(2, axis=3)
        module, torch_x, axes = built((2, 2, 2)), torch.tensor(x).permute(0, 3, 1, 2), (0, 1, 2)
    mean, variance = np.zeros(x.shape[-1]), np.ones(x.shape[-1])
    for batch in (slice(0, 32), slice(32, 64), slice(0, 7)):
        out = module(torch_x[batch].float())
        mean, variance = keras_step(x[batch], axes, mean, variance)
        np.testing.assert_allclose(module.running_mean.numpy(), mean, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(module.running_var.numpy(), variance, rtol=1e-5, atol=1e-7)
        batch_mean, batch_var = x[batch].mean(axis=axes), x[batch].var(axis=axes)
        expected = (x[batch] - batch_mean) / np.sqrt(batch_var + 1e-3)  # gamma 1, beta 0
        got = out.detach().numpy() if case == "features" else \
            out.detach().permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_one_value_per_channel_gives_beta_and_moves_the_mean(images):
    x = images[:1, ::4, ::4, 0].reshape(1, -1)  # one feature vector: torch would raise
    module = built((x.shape[1],))
    with torch.no_grad():
        module.bias.copy_(torch.linspace(-1, 1, x.shape[1]))
        module.weight.fill_(3.0)
    torch_x = torch.tensor(x).float().requires_grad_()
    out = module(torch_x)
    np.testing.assert_allclose(out.detach().numpy()[0], module.bias.detach().numpy(), atol=1e-6)
    mean, variance = keras_step(x, (0,), np.zeros(x.shape[1]), np.ones(x.shape[1]))
    np.testing.assert_allclose(module.running_mean.numpy(), mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(module.running_var.numpy(), variance, rtol=1e-6)
    out.sum().backward()
    assert torch.all(torch_x.grad == 0)  # x - mean(x) is 0 whatever x is
    assert torch.all(module.bias.grad == 1)


def test_fit_with_a_last_batch_of_one_image(images):
    """33 images at batch 32: the epoch's last batch is one image through BatchNormalization
    over feature vectors, which torch's own layer refuses while training."""
    labels = load("fashion-mnist-mini", split="train", progress=False).labels[:33]
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(8),
                               layers.BatchNormalization(), layers.Dense(10,
                                                                         activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(images[:33], labels,
                        batch_size=32, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    assert np.isfinite(model.predict(images[:4], verbose=0)).all()
