"""Find a zoo network's catalog entry by name, across the family files' ``NETWORKS``.

The zoo is imported on first use, not with this module: ``cnnkit.zoo`` builds models, and
``cnnkit.models`` may import ``cnnkit.weights``.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..naming import did_you_mean

if TYPE_CHECKING:
    from ..zoo.catalog import Network


@cache
def catalog() -> dict[str, Network]:
    """Every ``NETWORKS`` entry of the modules in ``cnnkit.zoo``, by name."""
    from .. import zoo

    entries: dict[str, Network] = {}
    for info in pkgutil.iter_modules(zoo.__path__):
        module = importlib.import_module(f"{zoo.__name__}.{info.name}")
        entries.update(getattr(module, "NETWORKS", {}))
    return entries


def find_network(name: str) -> Network:
    """The catalog entry called ``name`` (case and ``_``/``-`` do not matter)."""
    key = name.lower().replace("_", "-")
    entries = catalog()
    if key not in entries:
        raise ConfigError(f"unknown network {name!r}", hint=did_you_mean(key, entries))
    return entries[key]
