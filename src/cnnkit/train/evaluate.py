"""The one evaluation path: a network's outputs over a source, batch by batch, in inference
mode and fp32 (bf16 autocast is for training steps only, so validation, ``evaluate()``,
``predict()``, ``cnnkit evaluate`` and the report always agree).

:func:`batch_outputs` runs the network; validation and ``evaluate()`` turn its outputs into
Keras's loss and metrics (train/loop.py's ``evaluate``), ``predict()`` (models/inference.py) into
outputs after the output activation, from which evaluation/stream.py accumulates the full
evaluation of ``cnnkit evaluate``, a run's test split and the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from .batches import ArraySource


def batch_outputs(forward: Callable[[torch.Tensor], torch.Tensor], source: ArraySource,
                  batch_size: int, prefetch: int = 2
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]:
    """``(forward(x) as fp32, targets, weights)`` for each batch of ``source`` in order,
    under ``torch.inference_mode`` (the caller puts the network in eval mode)."""
    with torch.inference_mode():
        for x, y, w in source.batches(None, batch_size, prefetch=prefetch):
            yield forward(x).float(), y, w
