"""A ReLU convolution, alone or followed by 2x2 max pooling, on whichever kernel covers
it.

``Network`` runs such layers through ``conv_pool_relu`` and ``conv_relu`` here: the
first-layer kernel (``conv_pool_relu``: 1-4 input channels of data, 3x3 or 5x5, pooled)
or the Winograd kernel (``winograd``: 3x3 on multiples of 16 channels, inside the
network, pooled or not), or, where none can run or torch's ops are faster on this CPU for
this layer (measured at first use: kernels/probe.py), torch's ops (None).
``CNNKIT_KERNELS=0`` turns them off.

Under ``torch.compile`` (compiled prediction) a kernel runs eagerly between two compiled
graphs (a graph break): the compiled tutorial CNNs predicted 1.49-1.67x as many images a
second at batch 256 with the kernels as with those layers compiled (docs/performance.md).
"""

from __future__ import annotations

import torch
from torch import nn

from . import conv_pool_relu as first_layer
from . import winograd
from .build import load_kernel
from .probe import run_faster


def fusable(conv: nn.Module, pool: nn.Module) -> bool:
    """Whether one of the kernels computes ``conv`` (with ReLU) then ``pool``."""
    return first_layer.fusable(conv, pool) or winograd.fusable(conv, pool)


def relu_fusable(conv: nn.Module) -> bool:
    """Whether a kernel computes ``conv`` with ReLU, unpooled."""
    return winograd.relu_fusable(conv)


def carries(net: nn.Module) -> bool:
    """Whether hand-written kernels would run layers of ``net`` in fp32 training: it planned
    kernel steps (``fused``/``fused_relu``, models/network.py) and a kernel library loads.
    The kernels are fp32 only and step aside under bf16 autocast."""
    planned = getattr(net, "fused", set()) | getattr(net, "fused_relu", set())
    return bool(planned) and (load_kernel(first_layer.KERNEL) is not None
                              or load_kernel(winograd.KERNEL) is not None)


def conv_pool_relu(conv: nn.Module, pool: nn.Module, x: torch.Tensor
                   ) -> torch.Tensor | None:
    """``relu(pool(conv(x)))`` by a kernel, or None for the caller to use torch's ops."""
    if _traced():
        return None  # an exported graph must hold torch's ops
    if torch.compiler.is_compiling():
        return _between_graphs(conv_pool_relu, conv, pool, x)
    if first_layer.fusable(conv, pool):
        kernel, name = first_layer.conv_pool_relu, first_layer.KERNEL
    else:
        kernel, name = winograd.winograd_pool_relu, winograd.KERNEL
    return run_faster(name, kernel, lambda xi: torch.relu(pool(conv(xi))), (conv, pool), x)


def conv_relu(conv: nn.Module, relu: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """``relu(conv(x))`` by a kernel, or None for the caller to use torch's ops (``relu``
    is the activation module, whose hooks make the kernel step aside)."""
    if _traced():
        return None
    if torch.compiler.is_compiling():
        return _between_graphs(conv_relu, conv, relu, x)
    return run_faster(winograd.KERNEL, winograd.winograd_relu, lambda xi: torch.relu(conv(xi)),
                      (conv, relu), x)


def _traced() -> bool:
    return torch.compiler.is_exporting() or torch.jit.is_tracing()


@torch.compiler.disable
def _between_graphs(function, *args) -> torch.Tensor | None:
    """``function(*args)`` run eagerly, where torch.compile would trace it."""
    return function(*args)
