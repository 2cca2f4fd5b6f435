"""``cnnkit.keras.applications`` with ``weights=None``: every function builds with Keras's
arguments at a small input; ``include_top``, ``pooling`` and ``classes`` shape the output
as in Keras; ``weights="imagenet"`` with other than 1,000 classes is refused."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from cnnkit import zoo
from cnnkit.errors import ConfigError
from cnnkit.keras import applications
from cnnkit.models import ModuleModel

# Keras's own application names for the networks Keras has (keras.applications, 3.x)
KERAS_NAMES = {"VGG16": "vgg16", "VGG19": "vgg19", "ResNet50": "resnet50",
               "ResNet101": "resnet101", "InceptionV3": "inception-v3",
               "DenseNet121": "densenet121", "MobileNetV2": "mobilenet-v2",
               "MobileNetV3Small": "mobilenet-v3-small", "MobileNetV3Large": "mobilenet-v3-large",
               "EfficientNetB0": "efficientnet-b0", "EfficientNetB1": "efficientnet-b1",
               "ConvNeXtTiny": "convnext-tiny", "RegNetY004": "regnet-y-400mf"}
FUNCTIONS = [name for name in applications.__all__
             if name not in ("application", "preprocess_input")]
CHEAP = ["ResNet18", "MobileNetV3Small", "SqueezeNet11", "ShuffleNetV2", "LeNet5"]


def network_of(function_name: str) -> str:
    """The zoo network an application function builds."""
    return getattr(applications, function_name).args[0]


def test_the_name_table():
    for keras_name, network in KERAS_NAMES.items():
        assert keras_name in FUNCTIONS
        assert zoo.find(keras_name) == network
    networks = {network_of(name) for name in FUNCTIONS}
    assert networks == set(zoo.NETWORKS)  # every family has a function, each its own
    assert len(FUNCTIONS) == len(zoo.NETWORKS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_keras_signature(name):
    parameters = list(inspect.signature(getattr(applications, name)).parameters)
    assert parameters[:7] == ["include_top", "weights", "input_tensor", "input_shape",
                              "pooling", "classes", "classifier_activation"]


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in FUNCTIONS if n in CHEAP or
                                  zoo.NETWORKS[network_of(n)].family.lower() in
                                  ("efficientnet-lite", "resnet-cifar")])
def test_builds_untrained_at_a_small_input(name):
    entry = zoo.NETWORKS[network_of(name)]
    shape = (max(32, entry.min_input),) * 2 + (entry.channels,)
    model = getattr(applications, name)(weights=None, input_shape=shape, classes=7)
    assert isinstance(model, ModuleModel) and model.entry is entry
    probabilities = model.predict(np.zeros((2, *shape), np.uint8), verbose=0)
    assert probabilities.shape == (2, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_include_top_pooling_and_classes():
    shape = (64, 64, 3)
    images = np.zeros((1, *shape), np.uint8)
    top = applications.ResNet18(weights=None, input_shape=shape, classes=5,
                                classifier_activation=None)
    assert top.output_shape == (None, 5) and top.predict(images, verbose=0).shape == (1, 5)
    maps = applications.ResNet18(weights=None, input_shape=shape, include_top=False)
    assert maps.output_shape == (None, 2, 2, 512)
    assert not any(key.startswith("fc.") for key in maps.torch_module.state_dict())
    for pooling in ("avg", "max"):
        pooled = applications.ResNet18(weights=None, input_shape=shape, include_top=False,
                                       pooling=pooling)
        assert pooled.output_shape == (None, 512)
        assert pooled.predict(images, verbose=0).shape == (1, 512)
    with pytest.raises(ConfigError, match="pooling='mean' is not one of"):
        applications.ResNet18(weights=None, include_top=False, pooling="mean")


def test_imagenet_weights_need_1000_classes_with_the_top():
    with pytest.raises(ConfigError) as info:
        applications.ResNet50(weights="imagenet", classes=10)
    assert "needs classes=1000, got classes=10" in info.value.message
    assert "include_top=False" in info.value.hint


def test_input_tensor_is_refused_clearly():
    with pytest.raises(ConfigError, match="input_tensor"):
        applications.ResNet18(weights=None, input_tensor=object())
