"""A frozen backbone's features, computed once per image, for training a head on them.

While the backbone is frozen and the images are not augmented, every epoch would compute
the same features again: computing them once and training the head on the array takes
seconds per epoch instead of minutes.

Each batch is split into one share per core, computed by its own thread with one torch
thread (``core_threads.py``): in inference mode batch norm uses its running statistics, so
the shares are independent, and the cores wait for each other once per batch instead of
after every operation (which, with another process on a core, stalls torch's threads).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..data.progress import progress_bar
from ..data.rows import take_rows
from ..thread_count import torch_threads
from .core_threads import CoreThreads

POOLINGS = ("avg", "max", None)


def backbone_features(backbone: nn.Module, images: np.ndarray,
                      prepare: Callable[[torch.Tensor], torch.Tensor], *,
                      pooling: str | None = "avg", batch_size: int = 64,
                      cores: int | None = None, progress: bool = True) -> np.ndarray:
    """``backbone.forward_features`` of every image, in inference mode (batch norm uses
    its running statistics), as a float32 array: ``(N, C)`` pooled by ``"avg"`` or
    ``"max"``, or ``(N, C, h, w)`` feature maps with ``pooling=None``.

    ``images`` are uint8 ``(N, H, W, C)`` (memory maps and row views are read batch by
    batch, :func:`~cnnkit.data.rows.take_rows`);
    ``prepare`` turns a uint8 batch tensor into the backbone's input (e.g.
    :meth:`cnnkit.weights.Preprocessing.batch`). ``cores`` (default: torch's thread
    count) threads share each batch. The backbone's training mode is restored.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")

    def features(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            maps = backbone.forward_features(prepare(torch.from_numpy(batch)))
            if pooling == "avg":
                maps = maps.mean(dim=(2, 3))
            elif pooling == "max":
                maps = maps.amax(dim=(2, 3))
            return maps.float().numpy()

    threads = CoreThreads(cores or torch.get_num_threads())
    was_training = backbone.training
    backbone.eval()
    parts = []
    try:
        with torch_threads(1), progress_bar(len(images), "features", progress) as bar:
            for start in range(0, len(images), batch_size):
                batch = take_rows(images, slice(start, start + batch_size))
                shares = np.array_split(batch, min(threads.count, len(batch)))
                parts.extend(threads.map(features, shares))
                bar.update(len(batch))
    finally:
        threads.close()
        backbone.train(was_training)
    if not parts:
        return np.zeros((0, backbone.num_features), dtype=np.float32)
    return np.concatenate(parts)
