"""Calling a built layer or model on a batch, as Keras's ``layer(x, training=...)``.

Keras layers and models can be called on arrays or tensors; the result is a tensor whose
``.numpy()`` gives the values. Here the batch becomes a float32 tensor (NCHW, channels_last
memory, for images), the module runs in training or inference mode for this one call, and
the output comes back channels-last. Gradients are kept only when the input asks for them
(a tensor with ``requires_grad``), so ``.numpy()`` works on the result as in Keras.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn


def batch_tensor(inputs) -> torch.Tensor:
    """A float32 tensor of ``inputs`` (values as given; images NHWC -> NCHW)."""
    if isinstance(inputs, torch.Tensor) and inputs.is_floating_point():
        x = inputs.float()
    else:
        array = inputs.numpy() if isinstance(inputs, torch.Tensor) else np.asarray(inputs)
        x = torch.from_numpy(np.array(array, dtype=np.float32))
    return x.permute(0, 3, 1, 2) if x.dim() == 4 else x


def run_module(module: nn.Module, x: torch.Tensor, training: bool | None,
               finish: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``finish(module(x))`` in training mode or not, for this call only; channels-last."""
    was_training = module.training
    module.train(bool(training))
    try:
        with torch.set_grad_enabled(torch.is_grad_enabled() and x.requires_grad):
            out = module(x)
            if finish is not None:
                out = finish(out)
    finally:
        module.train(was_training)
    return out.permute(0, 2, 3, 1) if out.dim() == 4 else out
