"""Layer names, configs (JSON round trip, Keras's own configs), weights and initialisers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from cnnkit import layers
from keras_reference import param_counts

EXAMPLES = [
    (layers.Input((28, 28, 1)), (28, 28, 1)),
    (layers.Conv2D(8, (3, 5), strides=2, padding="same", dilation_rate=1, groups=2,
                   activation="relu", use_bias=False, kernel_initializer="he_normal",
                   input_shape=(9, 9, 4), name="c"), (9, 9, 4)),
    (layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu6"), (7, 7, 3)),
    (layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2), (7, 7, 3)),
    (layers.MaxPooling2D(3, strides=2, padding="same"), (7, 7, 3)),
    (layers.AveragePooling2D((2, 3)), (7, 7, 3)),
    (layers.GlobalAveragePooling2D(keepdims=True), (7, 7, 3)),
    (layers.GlobalMaxPooling2D(), (7, 7, 3)),
    (layers.Dense(5, activation="softmax", bias_initializer="ones"), (7,)),
    (layers.Flatten(), (2, 3, 4)),
    (layers.Dropout(0.25, seed=3), (7,)),
    (layers.SpatialDropout2D(0.1), (7, 7, 3)),
    (layers.Activation("gelu"), (7, 7, 3)),
    (layers.Rescaling(1 / 127.5, offset=-1), (7, 7, 3)),
    (layers.ZeroPadding2D(((1, 2), (3, 4))), (7, 7, 3)),
    (layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False), (7, 7, 3)),
    (layers.RandomFlip("horizontal", seed=1), (7, 7, 3)),
    (layers.RandomRotation((-0.1, 0.2), fill_mode="constant", fill_value=1.0), (7, 7, 3)),
    (layers.RandomTranslation(0.1, (0.0, 0.2)), (7, 7, 3)),
    (layers.RandomZoom(0.2, width_factor=-0.1, interpolation="nearest"), (7, 7, 3)),
    (layers.RandomContrast((0.1, 0.3), value_range=(0, 1)), (7, 7, 3)),
]


@pytest.mark.parametrize(("layer", "shape"), EXAMPLES, ids=lambda v: getattr(v, "name", ""))
def test_config_survives_json_round_trip(layer: layers.Layer, shape: tuple) -> None:
    data = json.loads(json.dumps(layers.serialize(layer)))
    assert data["class_name"] == layer.keras_name
    again = layers.deserialize(data)
    assert type(again) is type(layer)
    assert again.get_config() == layer.get_config() == data["config"]
    assert again.name == layer.name and again.activation == layer.activation
    assert again.compute_output_shape(shape) == layer.compute_output_shape(shape)
    assert param_counts(again.build_module(shape)) == param_counts(layer.build_module(shape))


def test_keras_exported_config_is_accepted() -> None:
    keras_config = {
        "module": "keras.layers", "class_name": "Conv2D", "registered_name": None,
        "build_config": {"input_shape": [None, 28, 28, 1]},
        "config": {
            "name": "conv2d", "trainable": True,
            "dtype": {"module": "keras", "class_name": "DTypePolicy",
                      "config": {"name": "float32"}, "registered_name": None},
            "filters": 32, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
            "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
            "activation": "relu", "use_bias": True,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "config": {"seed": None}, "registered_name": None},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                 "config": {}, "registered_name": None},
            "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
        },
    }
    layer = layers.deserialize(keras_config)
    assert (layer.name, layer.filters, layer.kernel_size, layer.activation) == \
        ("conv2d", 32, (3, 3), "relu")
    assert layer.compute_output_shape((28, 28, 1)) == (26, 26, 32)
    assert layers.deserialize(layers.serialize(layer)).get_config() == layer.get_config()


def test_input_layer_takes_keras_batch_shape() -> None:
    layer = layers.deserialize({"class_name": "InputLayer", "config": {
        "batch_shape": [None, 28, 28, 1], "dtype": "float32", "sparse": False,
        "name": "input_layer"}})
    assert isinstance(layer, layers.Input)
    assert layer.shape == layer.input_shape == (28, 28, 1)
    assert layer.compute_output_shape((28, 28, 1)) == (28, 28, 1)


def test_automatic_names_count_per_class_across_models() -> None:
    layers.reset_name_counters()
    names = [layers.Conv2D(4, 3).name, layers.Conv2D(4, 3).name,
             layers.MaxPooling2D().name, layers.Conv2D(4, 3, name="mine").name,
             layers.Conv2D(4, 3).name, layers.GlobalAveragePooling2D().name,
             layers.Input((4, 4, 1)).name, layers.unique_name("sequential")]
    assert names == ["conv2d", "conv2d_1", "max_pooling2d", "mine", "conv2d_2",
                     "global_average_pooling2d", "input_layer", "sequential"]
    layers.reset_name_counters()
    assert layers.Conv2D(4, 3).name == "conv2d"


def test_activation_attribute() -> None:
    assert layers.Conv2D(4, 3, activation="relu").activation == "relu"
    assert layers.Dense(4).activation is None
    assert layers.Activation("softmax").activation == "softmax"
    assert layers.MaxPooling2D().activation is None
    assert isinstance(layers.Activation("relu").build_module((4, 4, 1)), torch.nn.Identity)


def test_keras_weights_round_trip_in_keras_layout() -> None:
    rng = np.random.default_rng(0)
    cases = [(layers.Conv2D(5, (2, 3)), (6, 6, 4), [(2, 3, 4, 5), (5,)]),
             (layers.DepthwiseConv2D(3, depth_multiplier=2), (6, 6, 4), [(3, 3, 4, 2), (8,)]),
             (layers.SeparableConv2D(5, 3, depth_multiplier=2), (6, 6, 4),
              [(3, 3, 4, 2), (1, 1, 8, 5), (5,)]),
             (layers.Dense(3), (4,), [(4, 3), (3,)]),
             (layers.BatchNormalization(), (6, 6, 4), [(4,)] * 4)]
    for layer, shape, keras_shapes in cases:
        module = layer.build_module(shape)
        weights = [rng.standard_normal(s).astype(np.float32) for s in keras_shapes]
        layer.set_keras_weights(module, weights)
        back = layer.get_keras_weights(module)
        assert [w.shape for w in back] == keras_shapes
        assert all(np.array_equal(a, b) for a, b in zip(back, weights, strict=True))


def test_torch_module_names_are_plain() -> None:
    conv = layers.Conv2D(4, 3).build_module((8, 8, 2))
    assert set(conv.state_dict()) == {"weight", "bias"}
    assert tuple(conv.weight.shape) == (4, 2, 3, 3)
    separable = layers.SeparableConv2D(4, 3).build_module((8, 8, 2))
    assert set(separable.state_dict()) == {"depthwise.weight", "pointwise.weight",
                                           "pointwise.bias"}


def test_batchnorm_uses_keras_defaults() -> None:
    module = layers.BatchNormalization().build_module((4, 4, 8))
    assert module.momentum == pytest.approx(0.01)
    assert module.eps == pytest.approx(1e-3)
    assert torch.equal(module.weight, torch.ones(8)) and torch.equal(module.bias, torch.zeros(8))
    no_scale = layers.BatchNormalization(scale=False)
    assert param_counts(no_scale.build_module((4, 4, 8))) == (8, 16)
    assert [w.shape for w in no_scale.get_keras_weights(no_scale.build_module((4, 4, 8)))] \
        == [(8,)] * 3


def test_not_trainable_layer_has_frozen_parameters() -> None:
    module = layers.Dense(3, trainable=False).build_module((4,))
    assert param_counts(module) == (0, 15)


def test_not_trainable_batchnorm_runs_in_inference_mode() -> None:
    module = layers.BatchNormalization(trainable=False).build_module((4, 4, 2))
    module.train()
    x = torch.randn(8, 2, 4, 4) * 3 + 5
    out = module(x)
    assert torch.equal(module.running_mean, torch.zeros(2))
    torch.testing.assert_close(out, x / math.sqrt(1 + 1e-3))
    assert param_counts(module) == (0, 8)


def test_unapplied_keras_arguments_warn_and_stay_in_config() -> None:
    with pytest.warns(UserWarning, match="kernel_regularizer"):
        layer = layers.Dense(3, kernel_regularizer="l2")
    assert layer.get_config()["kernel_regularizer"] == "l2"


def _glorot_limit(fan_in: int, fan_out: int) -> float:
    return math.sqrt(6 / (fan_in + fan_out))


@pytest.mark.parametrize(("layer", "shape", "path", "limit"), [
    (layers.Conv2D(64, 3), (8, 8, 32), "weight", _glorot_limit(9 * 32, 9 * 64)),
    (layers.DepthwiseConv2D(3), (8, 8, 64), "weight", _glorot_limit(9 * 64, 9)),
    (layers.SeparableConv2D(64, 3), (8, 8, 32), "depthwise.weight", _glorot_limit(9 * 32, 9)),
    (layers.SeparableConv2D(64, 3), (8, 8, 32), "pointwise.weight", _glorot_limit(32, 64)),
    (layers.Dense(64), (256,), "weight", _glorot_limit(256, 64)),
])
def test_kernels_are_glorot_uniform_with_keras_fans(layer, shape, path, limit) -> None:
    torch.manual_seed(0)
    module = layer.build_module(shape)
    weight = module.get_parameter(path).detach().abs()
    assert weight.max() <= limit
    assert weight.max() > 0.95 * limit  # hundreds of draws reach close to the limit


def test_biases_start_at_zero_and_named_initializers_apply() -> None:
    torch.manual_seed(0)
    module = layers.Conv2D(64, 3, kernel_initializer="he_normal",
                           bias_initializer="ones").build_module((8, 8, 32))
    std = math.sqrt(2 / (9 * 32))
    assert module.weight.std().item() == pytest.approx(std, rel=0.05)
    assert module.weight.abs().max().item() <= 2 * std / 0.87962566103423978 + 1e-6
    assert torch.equal(module.bias, torch.ones(64))
    assert torch.equal(layers.Dense(3).build_module((4,)).bias, torch.zeros(3))
    uniform = layers.Dense(64, kernel_initializer="he_uniform").build_module((256,)).weight
    assert uniform.abs().max().item() <= math.sqrt(6 / 256)
    zeros = layers.Dense(3, kernel_initializer="Zeros").build_module((4,)).weight
    assert torch.equal(zeros, torch.zeros(3, 4))
