"""summary() and parameter counts against Keras's own printouts."""

from pathlib import Path

import pytest

from cnnkit.keras import backend, layers, models
from cnnkit.zoo import small_cnn, tutorial_cifar10, tutorial_mnist

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "keras-reference" / "summaries.txt"


def _keras_models():
    backend.clear_session()
    mnist = models.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax")])
    cifar = models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(), layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax")])
    modern = models.Sequential([
        layers.Input((32, 32, 3)),
        layers.Conv2D(32, 3, padding="same", use_bias=False), layers.BatchNormalization(),
        layers.Activation("relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", use_bias=False), layers.BatchNormalization(),
        layers.Activation("relu"), layers.GlobalAveragePooling2D(), layers.Dropout(0.3),
        layers.Dense(10, activation="softmax")])
    return [mnist, cifar, modern]


def test_summaries_match_keras_printouts_exactly():
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} not found: the Keras reference outputs live in ../shared")
    expected = [block.strip("\n") for block in REFERENCE.read_text().split("\n\n\n")
                if block.strip()]
    printed = []
    for model in _keras_models():
        model.summary(print_fn=printed.append)
    assert len(printed) == len(expected) == 3
    for ours, theirs in zip(printed, expected, strict=True):
        assert ours == theirs


@pytest.mark.parametrize(("build", "rows", "total"), [
    (tutorial_mnist, [((26, 26, 32), 320), ((13, 13, 32), 0), ((11, 11, 64), 18496),
                      ((5, 5, 64), 0), ((1600,), 0), ((128,), 204928), ((10,), 1290)], 225034),
    (tutorial_cifar10, [((30, 30, 32), 896), ((15, 15, 32), 0), ((13, 13, 64), 18496),
                        ((6, 6, 64), 0), ((4, 4, 64), 36928), ((1024,), 0), ((64,), 65600),
                        ((10,), 650)], 122570),
])
def test_tutorial_networks_per_layer_shapes_and_params(build, rows, total):
    model = build()
    got = [(shape, sum(p.numel() for p in model.net.ops[layer.name].parameters()))
           for layer, shape in zip(model.layers, model.net.shapes, strict=True)]
    assert got == rows
    assert model.count_params() == total


def test_small_cnn_counts_batchnorm_statistics_as_non_trainable():
    model = small_cnn((32, 32, 3), 10)
    trainable, frozen = model._param_counts()
    bn_channels = sum(layer.get_config().get("filters", 0) for layer in model.layers)
    assert frozen == 2 * bn_channels  # moving mean and variance of each BatchNormalization
    assert trainable + frozen == model.count_params()
