"""ReLU, LeakyReLU, Softmax, Reshape, Resizing and Normalization against NumPy versions of
what Keras 3 computes, on real images; shapes, parameters, configs and saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnkit.keras import layers, models
from keras_reference import param_counts, to_numpy, to_torch
from keras_resize_reference import smart_crop, tf_bilinear, tf_nearest
from sample_images import cifar_jpegs, mnist_pngs, pixels


def _cifar(n: int = 8) -> np.ndarray:
    return np.stack([pixels(b) for b in cifar_jpegs(n)]).astype(np.float32)


def _apply(layer, x: np.ndarray) -> np.ndarray:
    module = layer.build_module(x.shape[1:])
    with torch.no_grad():
        return to_numpy(module.eval()(to_torch(x)))


def _keras_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras 3's relu, case by case as its documentation states it."""
    if negative_slope and max_value is None and not threshold:
        return np.where(x > 0, x, negative_slope * x)
    y = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        y = np.minimum(y, max_value)
    return y - negative_slope * np.maximum(threshold - x, 0.0)


@pytest.mark.parametrize("args", [{}, {"max_value": 6.0}, {"negative_slope": 0.1},
                                  {"threshold": 0.5}, {"max_value": 1.0, "threshold": 0.2,
                                                       "negative_slope": 0.05}])
def test_relu_matches_keras(args: dict) -> None:
    x = (_cifar() - 128.0) / 20.0
    np.testing.assert_allclose(_apply(layers.ReLU(**args), x), _keras_relu(x, **args),
                               atol=1e-6)


def test_relu_rejects_negative_arguments() -> None:
    with pytest.raises(layers.LayerError, match="max_value"):
        layers.ReLU(max_value=-1)


def test_leaky_relu_default_slope_and_legacy_alpha() -> None:
    x = (_cifar() - 128.0) / 20.0
    np.testing.assert_allclose(_apply(layers.LeakyReLU(), x), np.where(x > 0, x, 0.3 * x),
                               atol=1e-6)
    with pytest.warns(UserWarning, match="alpha"):
        legacy = layers.LeakyReLU(alpha=0.1)
    assert legacy.get_config()["negative_slope"] == 0.1
    assert "alpha" not in legacy.get_config()
    np.testing.assert_allclose(_apply(legacy, x), np.where(x > 0, x, 0.1 * x), atol=1e-6)


def _softmax(x: np.ndarray, axis) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 1, 2, (1, 2)])
def test_softmax_over_keras_axes(axis) -> None:
    x = _cifar(4) / 64.0
    np.testing.assert_allclose(_apply(layers.Softmax(axis=axis), x), _softmax(x, axis),
                               rtol=1e-5, atol=1e-7)


def _conv_model(*extra):
    return models.Sequential([layers.Input((32, 32, 3)), layers.Conv2D(8, 3, name="conv"),
                              *extra])


def test_reshape_after_conv_keeps_keras_element_order() -> None:
    x = _cifar()
    conv = _conv_model()
    reshaped = _conv_model(layers.Reshape((15, 60, 8)))
    flat = _conv_model(layers.Reshape((-1,)))
    reshaped.set_weights(conv.get_weights())
    flat.set_weights(conv.get_weights())
    features = conv.predict(x, verbose=0)
    np.testing.assert_allclose(reshaped.predict(x, verbose=0), features.reshape(-1, 15, 60, 8),
                               atol=1e-5)
    np.testing.assert_allclose(flat.predict(x, verbose=0), features.reshape(len(x), -1),
                               atol=1e-5)
    assert reshaped.output_shape == (None, 15, 60, 8)
    assert flat.output_shape == (None, 30 * 30 * 8)


def test_reshape_errors_name_the_layer() -> None:
    with pytest.raises(layers.LayerError, match="same number of values"):
        layers.Reshape((7, 7, 7), name="r").compute_output_shape((30, 30, 8))
    with pytest.raises(layers.LayerError, match=r"r2 \(Reshape\)"):
        layers.Reshape((-1, -1, 8), name="r2")


@pytest.mark.parametrize("size", [(20, 45), (64, 64), (32, 32), (7, 90)])
def test_resizing_bilinear_matches_tf(size: tuple[int, int]) -> None:
    x = _cifar(4)
    expected = np.stack([tf_bilinear(image, *size) for image in x])
    # atol: float32 rounding of values up to 255
    np.testing.assert_allclose(_apply(layers.Resizing(*size), x), expected, atol=1e-3)


def test_resizing_nearest_and_crop_match_tf() -> None:
    x = _cifar(4)[:, :, :30]  # 32x30, so the crop matters
    nearest = np.stack([tf_nearest(image, 20, 50) for image in x])
    np.testing.assert_array_equal(_apply(layers.Resizing(20, 50, "nearest"), x), nearest)
    cropped = np.stack([tf_bilinear(smart_crop(image, 20, 50), 20, 50) for image in x])
    np.testing.assert_allclose(_apply(layers.Resizing(20, 50, crop_to_aspect_ratio=True), x),
                               cropped, atol=1e-3)  # float32 rounding of 0..255 values


def test_resizing_refuses_what_it_cannot_match() -> None:
    with pytest.raises(layers.LayerError, match="bicubic"):
        layers.Resizing(8, 8, interpolation="bicubic")


def test_normalization_adapt_on_real_images() -> None:
    x = _cifar(64)
    norm = layers.Normalization()
    norm.adapt(x)
    mean, var = x.mean(axis=(0, 1, 2), dtype=np.float64), x.var(axis=(0, 1, 2), dtype=np.float64)
    np.testing.assert_allclose(_apply(norm, x), (x - mean) / np.sqrt(var), rtol=1e-4,
                               atol=1e-4)
    batched = layers.Normalization()
    batched.adapt([(x[i:i + 10], None) for i in range(0, 64, 10)])
    module = batched.build_module(x.shape[1:])
    np.testing.assert_allclose(module.mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(module.variance.numpy(), var, rtol=1e-5)


def test_normalization_given_values_invert_and_scalar_axis() -> None:
    x = np.stack([pixels(b) for b in mnist_pngs(16)])[..., None].astype(np.float32)
    given = layers.Normalization(mean=33.0, variance=6000.0)
    np.testing.assert_allclose(_apply(given, x), (x - 33.0) / np.sqrt(6000.0), rtol=1e-5)
    assert param_counts(given.build_module((28, 28, 1))) == (0, 0)
    inverse = layers.Normalization(mean=33.0, variance=6000.0, invert=True)
    np.testing.assert_allclose(_apply(inverse, x), 33.0 + x * np.sqrt(6000.0), rtol=1e-5)
    whole = layers.Normalization(axis=None)
    whole.adapt(x)
    np.testing.assert_allclose(_apply(whole, x), (x - x.mean()) / x.std(), rtol=1e-4,
                               atol=1e-4)


def test_normalization_params_as_keras_and_adapt_after_building() -> None:
    x = _cifar(16)
    norm = layers.Normalization()
    model = models.Sequential([layers.Input((32, 32, 3)), norm])
    assert model.count_params() == 7  # mean, variance (3 each) and count, as Keras counts
    norm.adapt(x)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               (x - x.mean(axis=(0, 1, 2))) / x.std(axis=(0, 1, 2)),
                               rtol=1e-4, atol=1e-4)


def test_model_with_new_layers_saves_and_loads(tmp_path) -> None:
    x = _cifar(8)
    norm = layers.Normalization()
    norm.adapt(x)
    model = models.Sequential([
        layers.Input((32, 32, 3)), layers.Resizing(24, 24), norm, layers.Conv2D(8, 3),
        layers.LeakyReLU(negative_slope=0.2), layers.MaxPool2D(), layers.ReLU(max_value=6.0),
        layers.Reshape((-1,)), layers.Dense(10), layers.Softmax()])
    model.compile(loss="sparse_categorical_crossentropy")
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), before)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
    for layer in model.layers:
        rebuilt = layers.deserialize({"class_name": type(layer).__name__,
                                      "config": layer.get_config()})
        assert rebuilt.get_config() == layer.get_config()


def test_normalization_argument_errors_name_the_layer() -> None:
    with pytest.raises(layers.LayerError, match=r"norm \(Normalization\): adapt\(\) takes"):
        layers.Normalization(name="norm").adapt(3)
    with pytest.raises(layers.LayerError, match="together"):
        layers.Normalization(mean=1.0)
    with pytest.raises(layers.LayerError, match="only the last"):
        layers.Normalization(axis=1).compute_output_shape((8, 8, 3))
