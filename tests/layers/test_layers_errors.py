"""Errors name the layer, the sizes and the closest valid name."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import activations, initializers, layers
from cnnkit.errors import LayerError


def _error(call) -> LayerError:
    with pytest.raises(LayerError) as info:
        call()
    assert info.value.exit_code == 4
    return info.value


def test_kernel_larger_than_input_names_layer_and_sizes() -> None:
    layers.reset_name_counters()
    for _ in range(3):
        layers.Conv2D(8, 3)
    layer = layers.Conv2D(8, 3)
    message = str(_error(lambda: layer.compute_output_shape((2, 2, 16))))
    assert "conv2d_3 (Conv2D)" in message
    assert "input 2x2 is smaller than kernel 3x3" in message
    assert "padding='same'" in message
    assert "smaller than" in str(_error(lambda: layer.build_module((2, 2, 16))))


def test_pool_larger_than_input_and_dilated_kernel() -> None:
    pool = layers.MaxPooling2D(5, name="pool")
    assert "pool (MaxPooling2D): input 4x7 is smaller than pool size 5x5" in \
        str(_error(lambda: pool.compute_output_shape((4, 7, 3))))
    dilated = layers.Conv2D(1, 3, dilation_rate=3, name="dil")
    assert "input 5x5 is smaller than kernel 3x3 (dilated to 7x7)" in \
        str(_error(lambda: dilated.compute_output_shape((5, 5, 1))))


def test_stack_that_shrinks_too_far_fails_at_the_right_layer() -> None:
    stack = [layers.Conv2D(4, 3, name="c1"), layers.MaxPooling2D(2, name="p1"),
             layers.Conv2D(4, 3, name="c2"), layers.MaxPooling2D(2, name="p2"),
             layers.Conv2D(4, 3, name="c3")]
    shape: tuple[int, ...] = (12, 12, 1)
    with pytest.raises(LayerError, match=r"c3 \(Conv2D\): input 1x1 is smaller"):
        for layer in stack:
            shape = layer.compute_output_shape(shape)


def test_image_layer_after_flatten_says_what_to_do() -> None:
    error = _error(lambda: layers.Conv2D(4, 3, name="late").compute_output_shape((1600,)))
    assert "late (Conv2D)" in error.message and "Flatten" in error.hint


@pytest.mark.parametrize(("make", "suggestion"), [
    (lambda: activations.get("rleu"), "relu"),
    (lambda: activations.get("sofmax"), "softmax"),
    (lambda: layers.Conv2D(4, 3, activation="sigmod"), "sigmoid"),
    (lambda: layers.Activation("leaky_rel"), "leaky_relu"),
    (lambda: layers.get("Conv2DD"), "Conv2D"),
    (lambda: layers.deserialize({"class_name": "MaxPoolng2D", "config": {}}), "MaxPooling2D"),
    (lambda: layers.Dense(3, kernel_initializer="glorot_unifrom"), "glorot_uniform"),
    (lambda: initializers.get("HeNormall"), "he_normal"),
    (lambda: layers.Conv2D(4, 3, activaton="relu"), "activation"),
    (lambda: layers.MaxPooling2D(2, paddin="same"), "padding"),
    (lambda: layers.Conv2D(4, 3, padding="sam"), "same"),
    (lambda: layers.RandomFlip("horizontl"), "horizontal"),
])
def test_unknown_names_suggest_the_closest(make, suggestion: str) -> None:
    assert f"did you mean {suggestion!r}?" in str(_error(make))


@pytest.mark.parametrize("make", [
    lambda: layers.Conv2D(0, 3),
    lambda: layers.Conv2D(4, (3, 3, 3)),
    lambda: layers.Conv2D(4, 3, strides=0),
    lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2),
    lambda: layers.Conv2D(4, 3, data_format="channels_first"),
    lambda: layers.Dense(2.5),
    lambda: layers.Dropout(1.5),
    lambda: layers.Dropout(0.5, noise_shape=(None, 1, 1, 8)),
    lambda: layers.ZeroPadding2D(((1, 2), (3,))),
    lambda: layers.RandomRotation(2.0),
    lambda: layers.RandomContrast(1.5),
    lambda: layers.Input(),
    lambda: layers.Dense(3, input_shape=(0, 5)),
    lambda: layers.deserialize("Dense"),
])
def test_invalid_arguments_raise_layer_error(make) -> None:
    _error(make)


def test_wrong_keras_weights_are_refused() -> None:
    layer = layers.Dense(3, name="d")
    module = layer.build_module((4,))
    assert "expected 2 weight arrays, got 1" in \
        str(_error(lambda: layer.set_keras_weights(module, [np.zeros((4, 3))])))
    assert "weight 0 (weight) has shape (3, 4), expected (4, 3)" in \
        str(_error(lambda: layer.set_keras_weights(module, [np.zeros((3, 4)), np.zeros(3)])))
