"""A ReLU convolution followed by 2x2 max pooling, on whichever kernel covers it.

``Network`` runs such a pair through ``conv_pool_relu`` here: the first-layer kernel
(``conv_pool_relu``: 1-4 input channels of data, 3x3 or 5x5) or the Winograd kernel
(``winograd_pool_relu``: 3x3 on multiples of 16 channels, inside the network), or, where
neither can run, torch's ops (None). ``CNNKIT_KERNELS=0`` turns both off.

Under ``torch.compile`` (compiled prediction) a kernel runs eagerly between two compiled
graphs (a graph break): the compiled tutorial CNNs then predicted 1.67x as many images a
second at batch 256 as with the layer compiled (docs/performance.md).
"""

from __future__ import annotations

import torch
from torch import nn

from . import conv_pool_relu as first_layer
from . import winograd_pool_relu as winograd


def fusable(conv: nn.Module, pool: nn.Module) -> bool:
    """Whether one of the kernels computes ``conv`` (with ReLU) then ``pool``."""
    return first_layer.fusable(conv, pool) or winograd.fusable(conv, pool)


def conv_pool_relu(conv: nn.Module, pool: nn.Module, x: torch.Tensor
                   ) -> torch.Tensor | None:
    """``relu(pool(conv(x)))`` by a kernel, or None for the caller to use torch's ops."""
    if torch.compiler.is_exporting() or torch.jit.is_tracing():
        return None  # an exported graph must hold torch's ops
    if torch.compiler.is_compiling():
        return _between_graphs(conv, pool, x)
    if first_layer.fusable(conv, pool):
        return first_layer.conv_pool_relu(conv, pool, x)
    if winograd.fusable(conv, pool):
        return winograd.winograd_pool_relu(conv, pool, x)
    return None


@torch.compiler.disable
def _between_graphs(conv: nn.Module, pool: nn.Module, x: torch.Tensor
                    ) -> torch.Tensor | None:
    """``conv_pool_relu`` run eagerly, where torch.compile would trace it."""
    return conv_pool_relu(conv, pool, x)
