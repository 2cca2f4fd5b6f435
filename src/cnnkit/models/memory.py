"""A model's weights against the machine's memory, checked on torch's ``meta`` device (shapes
without memory) before the real model is made: a layer spec asking for ``units:
1000000000`` is refused with the size it would take, not after gigabytes were allocated."""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from ..errors import LayerError
from ..layers.base import kept_name_counters
from ..train.checkpoint import rng_states, set_rng_states

SHARE_OF_MEMORY = 0.5  # weights may take at most this share of the machine's memory


def machine_memory() -> int:
    """Bytes of physical memory (a large number where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 1 << 50


def weight_bytes(model) -> int:
    """Bytes of the built model's weights and buffers."""
    return sum(t.numel() * t.element_size() for t in model.net.state_dict().values())


def on_meta(make: Callable[[], object]):
    """``make()`` run on the meta device, leaving no trace: the automatic layer names and
    every random generator are as they were, so the real build that follows is the one a
    build without this check would have made."""
    states = rng_states()
    try:
        with kept_name_counters(), torch.device("meta"):
            return make()
    finally:
        set_rng_states(states)


def built_within_memory(make: Callable[[], object], what: str):
    """``make()`` run first on the meta device; a LayerError when the model's weights would
    take more than :data:`SHARE_OF_MEMORY` of the machine's memory, else ``make()`` for real."""
    skeleton = on_meta(make)
    need, have = weight_bytes(skeleton), machine_memory()
    if need > SHARE_OF_MEMORY * have:
        raise LayerError(f"{what}: the model's weights would take {need / 2**30:,.1f} GiB, more "
                         f"than half of this machine's {have / 2**30:,.1f} GiB",
                         hint="a layer size is far too large (units, filters or kernel_size?)")
    return make()
