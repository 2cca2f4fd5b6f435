"""The convolution playground against plain-loop NumPy references written here, and against
cnnkit's own Conv2D and pooling layers; kernels as text; the printed arithmetic."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from cnnkit import layers as L
from cnnkit.errors import ConfigError, ShapeError
from cnnkit.explain import (
    KERNELS,
    conv_pixel_arithmetic,
    convolve,
    parse_kernel,
    pool,
    pool_pixel_arithmetic,
    size_arithmetic,
)
from cnnkit.models import Sequential

RNG = np.random.default_rng(7)
RANDOM_KERNELS = {"random 2x2": RNG.normal(size=(2, 2)), "random 5x5": RNG.normal(size=(5, 5)),
                  "random 2x3": RNG.normal(size=(2, 3)), "random 1x1": RNG.normal(size=(1, 1))}
ALL_KERNELS = {**KERNELS, **RANDOM_KERNELS}


def same_start(size: int, window: int, stride: int) -> tuple[int, int]:
    """Output length and first window start of TF "same" along one axis, from its
    definition: ceil(size / stride) outputs, padding split with the extra after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, -(total // 2)


def layout(size: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    if padding == "same":
        return same_start(size, window, stride)
    return (size - window) // stride + 1, 0


def reference_conv(image, kernel, stride, padding, mode):
    """Loops: every output pixel, channel and kernel tap; pixels outside the image are 0."""
    height, width, channels = image.shape
    kh, kw = kernel.shape
    out_h, top = layout(height, kh, stride, padding)
    out_w, left = layout(width, kw, stride, padding)
    out = np.zeros((out_h, out_w, channels))
    for i in range(out_h):
        for j in range(out_w):
            for c in range(channels):
                for a in range(kh):
                    for b in range(kw):
                        r, q = top + i * stride + a, left + j * stride + b
                        if 0 <= r < height and 0 <= q < width:
                            out[i, j, c] += image[r, q, c] * kernel[a, b]
    return out.sum(axis=2) if mode == "summed" else out


def reference_pool(image, size, stride, kind, padding):
    """Loops: max or mean over the real pixels of each window."""
    height, width, channels = image.shape
    out_h, top = layout(height, size, stride, padding)
    out_w, left = layout(width, size, stride, padding)
    out = np.zeros((out_h, out_w, channels))
    for i in range(out_h):
        for j in range(out_w):
            for c in range(channels):
                values = [image[r, q, c]
                          for r in range(top + i * stride, top + i * stride + size)
                          for q in range(left + j * stride, left + j * stride + size)
                          if 0 <= r < height and 0 <= q < width]
                out[i, j, c] = max(values) if kind == "max" else sum(values) / len(values)
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("name", list(ALL_KERNELS))
def test_convolve_matches_the_loop_reference(name, stride, padding):
    kernel = ALL_KERNELS[name]
    for channels in (1, 3):
        image = RNG.integers(0, 256, size=(8, 11, channels)).astype(np.uint8)
        for mode in ("per_channel", "summed"):
            got = convolve(image, kernel, stride=stride, padding=padding, mode=mode)
            expected = reference_conv(image.astype(np.float64), kernel, stride, padding, mode)
            assert got.shape == expected.shape, (channels, mode)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_per_channel_is_the_default_and_keeps_channels():
    image = RNG.random((6, 6, 3))
    assert convolve(image, KERNELS["blur"]).shape == (4, 4, 3)
    assert convolve(image, KERNELS["blur"], mode="summed").shape == (4, 4)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2])
def test_summed_mode_is_one_conv2d_filter(stride, padding):
    """A Conv2D with one filter holding the 2-D kernel on each of 3 input channels (no bias)
    computes what summed mode computes."""
    kernel = RANDOM_KERNELS["random 2x3"]
    image = RNG.random((9, 10, 3)).astype(np.float32)
    model = Sequential([L.Input((9, 10, 3)), L.Conv2D(1, kernel.shape, strides=stride,
                                                      padding=padding, use_bias=False)])
    model.set_weights([np.repeat(kernel[:, :, None, None], 3, axis=2)])
    layer_output = model.predict(image[None], verbose=0)[0, :, :, 0]
    np.testing.assert_allclose(convolve(image, kernel, stride, padding, "summed"), layer_output,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size, stride", [(2, None), (3, None), (3, 2), (2, 1), (3, 3)])
def test_pool_matches_the_loop_reference(size, stride, kind, padding):
    for channels in (1, 3):
        image = RNG.normal(size=(7, 10, channels))
        got = pool(image, size, stride=stride, kind=kind, padding=padding)
        expected = reference_pool(image, size, stride or size, kind, padding)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("kind, layer", [("max", L.MaxPooling2D), ("avg", L.AveragePooling2D)])
def test_pool_matches_the_keras_pooling_layers(kind, layer):
    image = RNG.normal(size=(7, 9, 2)).astype(np.float32)
    model = Sequential([L.Input((7, 9, 2)), layer(3, strides=2, padding="same")])
    np.testing.assert_allclose(pool(image, 3, 2, kind, "same"),
                               model.predict(image[None], verbose=0)[0], rtol=1e-5)


def test_average_same_padding_ignores_padded_pixels():
    image = np.full((3, 3, 1), 6.0)
    assert np.all(pool(image, 2, kind="avg", padding="same") == 6.0)  # not diluted by zeros


@pytest.mark.parametrize("text, expected", [
    ("0.1 0.1 0.1; 0.1 0.1 0.1; 0.1 0.1 0.1", np.full((3, 3), 0.1)),
    ("-1, 0, 1\n-2, 0, 2\n-1, 0, 1", KERNELS["sobel-x"]),
    ("  Sobel-Y ", KERNELS["sobel-y"]),
    ("1 2 3", np.array([[1.0, 2.0, 3.0]])),
])
def test_parse_kernel(text, expected):
    np.testing.assert_array_equal(parse_kernel(text), expected)


@pytest.mark.parametrize("text, message", [
    ("sharpn", "did you mean 'sharpen'"),
    ("1 2; 3", "rows of different lengths"),
    ("1 x; 2 3", "not a matrix of numbers"),
    (";", "empty"),
    ("1 nan; 2 3", "not a finite number"),
])
def test_parse_kernel_errors(text, message):
    with pytest.raises(ConfigError) as error:
        parse_kernel(text)
    assert message in str(error.value)


def test_named_kernels_are_the_usual_ones():
    assert KERNELS["blur"].sum() == pytest.approx(1.0)
    assert KERNELS["sharpen"].sum() == 1.0 and KERNELS["sharpen"][1, 1] == 5
    for name in ("edge", "sobel-x", "sobel-y"):
        assert KERNELS[name].sum() == 0.0  # flat regions give 0
    np.testing.assert_array_equal(KERNELS["sobel-y"], KERNELS["sobel-x"].T)


def test_bad_inputs_say_what_is_wrong():
    with pytest.raises(ShapeError, match="smaller than the window"):
        convolve(np.zeros((2, 2, 1)), np.ones((3, 3)))
    with pytest.raises(ShapeError, match=r"\(height, width, channels\)"):
        convolve(np.zeros((5, 5)), np.ones((3, 3)))
    with pytest.raises(ConfigError, match="mode"):
        convolve(np.zeros((5, 5, 1)), np.ones((3, 3)), mode="sum")
    with pytest.raises(ConfigError, match="padding"):
        pool(np.zeros((5, 5, 1)), 2, padding="full")


def last_number(line: str) -> float:
    return float(re.findall(r"= (-?[\d.e+-]+)$", line)[-1])


@pytest.mark.parametrize("mode", ["per_channel", "summed"])
def test_the_printed_pixel_arithmetic_adds_up_to_the_output(mode):
    image = RNG.integers(0, 256, size=(9, 9, 3)).astype(np.uint8)
    output = convolve(image, KERNELS["sobel-x"], 2, "same", mode)
    lines = conv_pixel_arithmetic(image, KERNELS["sobel-x"], 2, "same", mode, at=(0, 4))
    assert lines[0].startswith("output[0, 4] = the sum of kernel x pixel over the 3x3 window "
                               "at input rows -1..1, columns 7..9 (padded pixels are 0)")
    expected = output[0, 4] if mode == "summed" else output[0, 4, 0]
    assert last_number(lines[-1]) == pytest.approx(expected, rel=1e-3)
    assert len(lines) == (5 if mode == "summed" else 2)  # header, 3 channels, total


def test_default_pixel_is_the_strongest_response():
    image = np.zeros((7, 7, 1))
    image[5, 2, 0] = 100.0
    lines = conv_pixel_arithmetic(image, KERNELS["edge"])
    assert lines[0].startswith("output[4, 1] ")  # the window centred on the bright pixel
    assert last_number(lines[-1]) == 800.0


def test_pool_arithmetic_leaves_out_padding():
    image = np.arange(9.0).reshape(3, 3, 1)
    lines = pool_pixel_arithmetic(image, 2, kind="avg", padding="same", at=(1, 1))
    assert "1 padded" not in lines[0] and "3 padded position(s) left out" in lines[0]
    assert lines[1].strip() == "(8) / 1 = 8"


def test_size_arithmetic():
    valid = size_arithmetic((28, 28), 3, 1, "valid")
    assert valid[0].startswith("output height = floor((28 - 3) / 1) + 1 = 26")
    same = size_arithmetic((28, 30), 3, 2, "same")
    assert same[0].startswith("output height = ceil(28 / 2) = 14")
    assert same[0].endswith("= 1: 0 at the top, 1 at the bottom")
    assert same[1].startswith(f"output width = ceil(30 / 2) = {math.ceil(30 / 2)}")
