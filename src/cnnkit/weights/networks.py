"""Find a zoo network's catalog entry by name (any spelling ``cnnkit.zoo.find`` takes)."""

from __future__ import annotations

from .. import zoo
from ..errors import ConfigError
from ..naming import did_you_mean
from ..zoo.catalog import Network


def find_network(name: str) -> Network:
    """The catalog entry called ``name`` (``resnet18``, ``ResNet-18``, ``resnet_18``)."""
    canonical = zoo.find(name)
    if canonical not in zoo.NETWORKS:
        raise ConfigError(f"unknown network {name!r}",
                          hint=did_you_mean(name, zoo.NETWORKS) + "; 'cnnkit models' lists "
                               "them")
    return zoo.NETWORKS[canonical]
