"""A frozen backbone's features, computed once per image, for training a head on them.

While the backbone is frozen and the images are not augmented, every epoch would compute
the same features again: computing them once and training the head on the array takes
seconds per epoch instead of minutes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..data.progress import progress_bar

POOLINGS = ("avg", "max", None)


def backbone_features(backbone: nn.Module, images: np.ndarray,
                      prepare: Callable[[torch.Tensor], torch.Tensor], *,
                      pooling: str | None = "avg", batch_size: int = 64,
                      progress: bool = True) -> np.ndarray:
    """``backbone.forward_features`` of every image, in inference mode (batch norm uses
    its running statistics), as a float32 array: ``(N, C)`` pooled by ``"avg"`` or
    ``"max"``, or ``(N, C, h, w)`` feature maps with ``pooling=None``.

    ``images`` are uint8 ``(N, H, W, C)`` (memory-mapped arrays are read batch by batch);
    ``prepare`` turns a uint8 batch tensor into the backbone's input (e.g.
    :meth:`cnnkit.weights.Preprocessing.batch`). The backbone's training mode is restored.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
    was_training = backbone.training
    backbone.eval()
    parts = []
    try:
        with torch.inference_mode(), progress_bar(len(images), "features", progress) as bar:
            for start in range(0, len(images), batch_size):
                batch = torch.from_numpy(np.array(images[start:start + batch_size]))
                maps = backbone.forward_features(prepare(batch))
                if pooling == "avg":
                    maps = maps.mean(dim=(2, 3))
                elif pooling == "max":
                    maps = maps.amax(dim=(2, 3))
                parts.append(maps.float().numpy())
                bar.update(len(batch))
    finally:
        backbone.train(was_training)
    if not parts:
        return np.zeros((0, backbone.num_features), dtype=np.float32)
    return np.concatenate(parts)
