"""Feature maps (shapes as summary() prints them, values as the playground computes them) and
filters (Keras's kernels, one grid or one picture per filter)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import layers as L
from cnnkit import zoo
from cnnkit.errors import LayerError
from cnnkit.explain import (
    convolve,
    feature_figures,
    feature_layer_names,
    feature_maps,
    filter_figures,
    filter_weights,
)
from cnnkit.models import Sequential
from mnist_model import mnist_digits, trained_mnist

RNG = np.random.default_rng(3)


def summary_shapes(model) -> dict[str, tuple[int, ...]]:
    """``{layer name: output shape}`` read from the printed ``summary()`` table, whose cells
    may wrap over several lines."""
    lines = []
    model.summary(print_fn=lines.append)
    rows, cells = [], None
    for line in "\n".join(lines).splitlines():
        if line.startswith("│"):
            parts = [part.strip() for part in line.strip("│").split("│")]
            cells = parts if cells is None else [" ".join(filter(None, pair))
                                                 for pair in zip(cells, parts, strict=True)]
        elif cells is not None:
            rows.append(cells)
            cells = None
    shapes = {}
    for name_and_type, shape, _ in rows:
        dims = shape.replace(" ", "").strip("()").split(",")[1:]  # drop "None"
        shapes[name_and_type.split(" (")[0]] = tuple(int(d) for d in dims)
    return shapes


def separable_model() -> Sequential:
    return Sequential([L.Input((20, 18, 3)), L.Conv2D(6, 3, strides=2, padding="same"),
                       L.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"),
                       L.AveragePooling2D(2, padding="same"),
                       L.SeparableConv2D(5, 2, activation="relu"), L.MaxPooling2D(3, 1),
                       L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])


@pytest.mark.parametrize("make", [
    lambda: zoo.get("tutorial-mnist", (28, 28, 1), 10),
    lambda: zoo.get("tutorial-cifar10", (32, 32, 3), 10),
    lambda: zoo.get("small-cnn", (40, 36, 3), 5),
    separable_model,
], ids=["tutorial-mnist", "tutorial-cifar10", "small-cnn", "separable"])
def test_feature_map_shapes_are_the_summary_shapes(make):
    model = make()
    image = RNG.integers(0, 256, model.input_shape[1:]).astype(np.uint8)
    maps = feature_maps(model, image)
    printed = summary_shapes(model)
    assert list(maps) == feature_layer_names(model)
    assert maps, "every model here has conv and pooling layers"
    for name, values in maps.items():
        assert values.shape == printed[name], name
    kinds = {type(model.get_layer(name)).__name__ for name in maps}
    assert kinds <= {"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D",
                     "AveragePooling2D"}


def test_first_feature_maps_are_the_playground_convolution_plus_bias_and_relu():
    """On the trained MNIST CNN and a real digit: each first-layer map is the digit (scaled
    as in training) convolved with that filter's kernel, plus its bias, through ReLU."""
    model = trained_mnist()
    digit = mnist_digits()["test"][0][0]
    first = model.layers[0].name
    maps = feature_maps(model, digit, [first])[first]
    kernel, bias = model.get_weights()[:2]
    for f in range(kernel.shape[3]):
        expected = np.maximum(convolve(digit / 255.0, kernel[:, :, 0, f], mode="summed")
                              + bias[f], 0.0)
        np.testing.assert_allclose(maps[..., f], expected, atol=1e-5)
    assert (maps > 0).mean() > 0.05  # a trained filter responds somewhere


def test_chosen_layers_come_back_in_model_order():
    model = zoo.get("tutorial-cifar10", (32, 32, 3), 10)
    conv, pool = model.layers[0].name, model.layers[1].name
    maps = feature_maps(model, np.zeros((32, 32, 3), np.uint8), [pool, conv])
    assert list(maps) == [conv, pool]


def test_layers_without_maps_are_refused():
    model = zoo.get("tutorial-mnist", (28, 28, 1), 10)
    with pytest.raises(LayerError, match="not maps"):
        feature_maps(model, np.zeros((28, 28, 1), np.uint8), [model.layers[-1].name])
    with pytest.raises(LayerError, match="no layer named"):
        feature_maps(model, np.zeros((28, 28, 1), np.uint8), ["conv9"])


def test_feature_figures_are_titled_with_name_and_shape():
    model = zoo.get("tutorial-mnist", (28, 28, 1), 10)
    figures = feature_figures(model, np.zeros((28, 28, 1), np.uint8))
    first = model.layers[0].name
    assert figures[first].axes[0].get_title() == f"{first} (Conv2D): output (None, 26, 26, 32)"


def test_filter_weights_are_keras_kernels_per_filter():
    model = zoo.get("tutorial-mnist", (28, 28, 1), 10)
    weights = filter_weights(model)
    assert weights.shape == (32, 3, 3, 1)
    np.testing.assert_array_equal(weights, model.get_weights()[0].transpose(3, 0, 1, 2))
    second = filter_weights(model, model.layers[2].name)
    assert second.shape == (64, 3, 3, 32)


def test_depthwise_filters_see_one_channel_each():
    model = separable_model()
    depthwise = model.layers[1]
    weights = filter_weights(model, depthwise.name)
    kernel = model.get_weights()[2]  # (3, 3, 6, 2): after the Conv2D's kernel and bias
    assert weights.shape == (12, 3, 3, 1)
    np.testing.assert_array_equal(weights[2 * 4 + 1, :, :, 0], kernel[:, :, 4, 1])


def test_one_grid_for_the_first_layer_one_picture_per_deeper_filter():
    cifar = zoo.get("tutorial-cifar10", (32, 32, 3), 10)
    first = filter_figures(cifar)
    assert len(first) == 1 and "in RGB" in first[0].axes[0].get_title()
    deeper = filter_figures(cifar, cifar.layers[2].name)
    assert len(deeper) == 64
    assert "filter 5: 3x3 weights on each of 32 input channels" in deeper[5].axes[0].get_title()
    mnist = filter_figures(zoo.get("tutorial-mnist", (28, 28, 1), 10))
    assert len(mnist) == 1 and "(red +, blue -)" in mnist[0].axes[0].get_title()


def test_filters_of_a_layer_that_is_not_a_convolution_are_refused():
    model = zoo.get("tutorial-mnist", (28, 28, 1), 10)
    with pytest.raises(LayerError, match="not a convolution"):
        filter_weights(model, model.layers[1].name)
    dense = Sequential([L.Input((4, 4, 1)), L.Flatten(), L.Dense(2)])
    with pytest.raises(LayerError, match="no convolution layer"):
        filter_figures(dense)
