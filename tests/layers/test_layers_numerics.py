"""Layer outputs against Keras's own (numerics.npz), and TF "same" padding worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cnnkit import layers
from keras_reference import reference_cases, reference_file, to_numpy, to_torch

CASES = reference_cases("numerics.json")


def _build(case: dict, input_shape: tuple[int, ...], weights: list) -> tuple[list, list]:
    """The case's layers and their modules; the Sequential case is Flatten then Dense."""
    if case["layer"] == "Sequential":
        stack = [layers.Flatten(), layers.Dense(weights[0].shape[1])]
    else:
        stack = [layers.get(case["layer"])(**case["config"])]
    modules, shape = [], input_shape
    for layer in stack:
        modules.append(layer.build_module(shape))
        shape = layer.compute_output_shape(shape)
    return stack, modules


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"] if c else "missing")
def test_matches_keras_output(case: dict) -> None:
    data = np.load(reference_file("numerics.npz"))
    name = case["name"]
    x, expected = data[f"{name}__x"], data[f"{name}__y"]
    weights = [data[f"{name}__w{i}"] for i in range(len(case["weights"]))]
    stack, modules = _build(case, x.shape[1:], weights)
    stack[-1].set_keras_weights(modules[-1], weights)

    out = to_torch(x)
    with torch.no_grad():
        for module in modules:
            out = module.eval()(out)
    assert to_numpy(out).shape == expected.shape
    np.testing.assert_allclose(to_numpy(out), expected, atol=1e-5, rtol=0)
    assert all(np.array_equal(a, b)
               for a, b in zip(stack[-1].get_keras_weights(modules[-1]), weights, strict=True))


# -- "same" padding: TensorFlow's rule, computed here independently of cnnkit -----------

SIZES = (5, 7, 9, 11, 13)
KERNELS = (1, 2, 3, 4, 5)
STRIDES = (1, 2)


def _tf_same(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(output size, padding before) of TF "same": ceil(size/stride) outputs, the odd extra
    padding row/column after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2


@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("kernel", KERNELS)
def test_same_padding_shapes_table(kernel: int, stride: int) -> None:
    for size in SIZES:
        shape = (size, size + 2, 1)
        expected = (math.ceil(size / stride), math.ceil((size + 2) / stride))
        for layer in (layers.Conv2D(1, kernel, strides=stride, padding="same"),
                      layers.MaxPooling2D(kernel, strides=stride, padding="same"),
                      layers.AveragePooling2D(kernel, strides=stride, padding="same"),
                      layers.DepthwiseConv2D(kernel, strides=stride, padding="same")):
            assert layer.compute_output_shape(shape)[:2] == expected, (layer, size)
            module = layer.build_module(shape)
            with torch.no_grad():
                out = module(torch.zeros(1, 1, *shape[:2]))
            assert tuple(out.shape[2:]) == expected, (layer, size)


@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("kernel", KERNELS)
def test_same_padding_places_the_extra_row_at_the_bottom(kernel: int, stride: int) -> None:
    """A kernel with a single 1 at its top-left reads input[i*stride - pad_before]."""
    size = 7
    layer = layers.Conv2D(1, kernel, strides=stride, padding="same", use_bias=False)
    module = layer.build_module((size, size, 1))
    delta = np.zeros((kernel, kernel, 1, 1), np.float32)
    delta[0, 0] = 1
    layer.set_keras_weights(module, [delta])
    image = np.arange(1, size * size + 1, dtype=np.float32).reshape(1, size, size, 1)
    with torch.no_grad():
        out = to_numpy(module(to_torch(image)))[0, :, :, 0]

    n_out, before = _tf_same(size, kernel, stride)
    rows = np.arange(n_out) * stride - before
    expected = np.zeros((n_out, n_out), np.float32)
    for i, r in enumerate(rows):
        for j, c in enumerate(rows):
            if 0 <= r < size and 0 <= c < size:
                expected[i, j] = image[0, r, c, 0]
    np.testing.assert_array_equal(out, expected)


def test_average_pooling_same_ignores_padding_on_the_extra_side() -> None:
    """2x2 windows, stride 2, on 3x3 ones: padding is only at the bottom/right, and every
    window still averages to 1 because padded zeros are not counted."""
    layer = layers.AveragePooling2D(2, padding="same")
    module = layer.build_module((3, 3, 1))
    with torch.no_grad():
        out = module(torch.ones(1, 1, 3, 3))
    np.testing.assert_array_equal(out.numpy(), np.ones((1, 1, 2, 2), np.float32))


def test_max_pooling_same_pads_with_minus_infinity() -> None:
    layer = layers.MaxPooling2D(2, padding="same")
    module = layer.build_module((3, 3, 1))
    with torch.no_grad():
        out = module(-torch.ones(1, 1, 3, 3))
    np.testing.assert_array_equal(out.numpy(), -np.ones((1, 1, 2, 2), np.float32))


def test_flatten_uses_keras_hwc_order() -> None:
    image = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4)
    module = layers.Flatten().build_module((2, 3, 4))
    np.testing.assert_array_equal(module(to_torch(image)).numpy(), image.reshape(1, -1))
