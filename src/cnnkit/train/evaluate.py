"""The one evaluation path: a network's outputs over a source, batch by batch, in inference
mode and fp32 (bf16 autocast is for training steps only, so validation, ``evaluate()``,
``predict()``, ``cnnkit evaluate`` and the report always agree).

:func:`batch_outputs` runs the network; validation and ``evaluate()`` turn its outputs into
Keras's loss and metrics (:func:`evaluate`), ``predict()`` (models/inference.py) into
outputs after the output activation, from which evaluation/stream.py accumulates the full
evaluation of ``cnnkit evaluate``, a run's test split and the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from .batches import ArraySource
from .task import Task


def batch_outputs(forward: Callable[[torch.Tensor], torch.Tensor], source: ArraySource,
                  batch_size: int, prefetch: int = 2
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]:
    """``(forward(x) as fp32, targets, weights)`` for each batch of ``source`` in order,
    under ``torch.inference_mode`` (the caller puts the network in eval mode)."""
    with torch.inference_mode():
        for x, y, w in source.batches(None, batch_size, prefetch=prefetch):
            yield forward(x).float(), y, w


def evaluate(net: torch.nn.Module, source: ArraySource, task: Task, batch_size: int
             ) -> dict[str, float]:
    """Keras's loss and metrics of ``net`` over ``source``, exact over all samples."""
    net.eval()
    loss_sum, seen = 0.0, 0
    correct = dict.fromkeys((m.name for m in task.metrics), 0.0)
    for output, y, w in batch_outputs(net, source, batch_size):
        loss_sum += float(task.loss(output, y, task.on_logits, w)) * len(output)
        scored = task.outputs_for_metrics(output)
        for metric in task.metrics:
            correct[metric.name] += float(metric.correct(
                scored, y, task.loss.binary, task.loss.sparse_labels))
        seen += len(output)
    seen = max(seen, 1)
    return {"loss": loss_sum / seen, **{k: v / seen for k, v in correct.items()}}
