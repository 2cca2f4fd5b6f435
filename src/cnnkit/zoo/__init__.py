"""Named architectures: ``zoo.get("resnet18", input_shape, num_classes)``.

Two kinds live here: the Keras tutorials' CNNs and small-cnn, built as ``Sequential``
models (tutorial.py), and the famous families (catalog.py's protocol, one file each),
built as :class:`~cnnkit.models.ModuleModel`. A name is found however it is spelled:
``resnet50``, ``ResNet-50``, torchvision's ``resnet50`` or Keras's ``ResNet50``
(case, hyphens, underscores and dots do not matter).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import ConfigError
from ..models import ModuleModel, register_network
from ..naming import did_you_mean
from . import (
    alexnet,
    convnext,
    densenet,
    efficientnet,
    efficientnet_lite,
    googlenet,
    inception,
    lenet,
    mobilenet_v2,
    mobilenet_v3,
    regnet,
    resnet,
    resnet_cifar,
    shufflenet,
    squeezenet,
    vgg,
)
from .catalog import Network
from .tutorial import small_cnn, tutorial_cifar10, tutorial_mnist

SEQUENTIAL: dict[str, Callable] = {
    "tutorial-mnist": tutorial_mnist,
    "tutorial-cifar10": tutorial_cifar10,
    "small-cnn": small_cnn,
}
NETWORKS: dict[str, Network] = {
    name: entry
    for family in (lenet, alexnet, vgg, resnet, resnet_cifar, googlenet, inception, densenet,
                   squeezenet, mobilenet_v2, mobilenet_v3, efficientnet, efficientnet_lite,
                   regnet, shufflenet, convnext)
    for name, entry in family.NETWORKS.items()}
for _entry in NETWORKS.values():
    register_network(_entry)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


# every spelling's key -> the canonical name
_SPELLINGS: dict[str, str] = {_key(name): name for name in SEQUENTIAL}
for _name, _entry in NETWORKS.items():
    for _spelling in (_name, _entry.torchvision, _entry.keras):
        if _spelling:
            _SPELLINGS.setdefault(_key(_spelling), _name)


def names() -> list[str]:
    """The built-in architecture names: the tutorial CNNs first, then the families."""
    return [*SEQUENTIAL, *NETWORKS]


def find(name: str) -> str | None:
    """The canonical name ``name`` spells (``"ResNet-50"`` -> ``"resnet50"``), or None."""
    return _SPELLINGS.get(_key(name))


def get(name: str, input_shape=None, num_classes: int = 10, **options):
    """A new, untrained model of the named architecture for images of ``input_shape``
    (H, W, C; a family's default size when None) and ``num_classes`` classes; ``options``
    go to the builder (e.g. ``dropout`` for tutorial-mnist, ``include_top`` for a family).
    """
    canonical = find(name)
    if canonical is None:
        raise ConfigError(f"unknown model {name!r}",
                          hint=did_you_mean(name, names()) + "; 'cnnkit models' lists them")
    if canonical in SEQUENTIAL:
        if input_shape is not None:
            options["input_shape"] = tuple(input_shape)
        return SEQUENTIAL[canonical](num_classes=num_classes, **options)
    return ModuleModel(NETWORKS[canonical], input_shape=input_shape, classes=num_classes,
                       **options)


__all__ = ["NETWORKS", "SEQUENTIAL", "find", "get", "names", "small_cnn", "tutorial_cifar10",
           "tutorial_mnist"]
