"""Look things up by their Keras name; a misspelt name gets a "did you mean" hint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from cnnkit.errors import LayerError
from cnnkit.naming import did_you_mean

T = TypeVar("T")


def snake_case(name: str) -> str:
    """Keras's snake case of a class name: ``"MaxPooling2D"`` -> ``"max_pooling2d"``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def lookup(table: Mapping[str, T], name: object, kind: str) -> T:
    """Return ``table[name]``, matching case-insensitively.

    Raises :class:`LayerError` naming the ``kind`` of thing (``"activation"``, ``"layer"``,
    ...) and suggesting the closest valid name when ``name`` is unknown.
    """
    if not isinstance(name, str):
        raise LayerError(f"{kind} must be given by name, got {name!r}",
                         hint=did_you_mean("", table))
    if name in table:
        return table[name]
    folded = {key.lower(): value for key, value in table.items()}
    if name.lower() in folded:
        return folded[name.lower()]
    raise LayerError(f"unknown {kind} {name!r}", hint=did_you_mean(name, table))
