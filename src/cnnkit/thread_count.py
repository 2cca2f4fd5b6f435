"""How many threads torch uses: cnnkit's one place that calls ``torch.set_num_threads``
(training sets it per step, core threads and decode workers to one, predict to one for a
few images, ``--threads`` for a run)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def set_torch_threads(count: int) -> None:
    """Give torch ``count`` threads from now on."""
    torch.set_num_threads(count)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch threads, then restore the previous number."""
    before = torch.get_num_threads()
    set_torch_threads(count)
    try:
        yield
    finally:
        set_torch_threads(before)
