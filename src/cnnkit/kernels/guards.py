"""What cnnkit's fused convolution-pooling-ReLU kernels share: the checks that decide
whether a call may run on a kernel instead of torch's ops, the pooling they fuse, and how
many of torch's threads a call uses."""

from __future__ import annotations

import ctypes

import torch
from torch import nn

FLOAT_CPU = {"dtype": torch.float32, "device": "cpu"}  # not torch's defaults, which may differ
CHANNEL_TILE = 16
IMAGES_PER_THREAD = 4


def pair(value) -> tuple:
    """``value`` as torch's modules hold a 2-D size: an int stands for both sides."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def plain_convolution(conv: nn.Module, kernel_sizes: tuple) -> bool:
    """Whether ``conv`` is a stride-1, undilated, ungrouped ``Conv2d`` with zero padding
    given as numbers, one of ``kernel_sizes`` and a multiple of 16 filters."""
    return (isinstance(conv, nn.Conv2d) and tuple(conv.kernel_size) in kernel_sizes
            and conv.out_channels % CHANNEL_TILE == 0 and conv.groups == 1
            and tuple(conv.stride) == (1, 1) and tuple(conv.dilation) == (1, 1)
            and conv.padding_mode == "zeros" and isinstance(conv.padding, tuple))


def pooling_2x2(pool: nn.Module) -> bool:
    """Whether ``pool`` is 2x2 max pooling with stride 2, no padding, floor mode."""
    return (isinstance(pool, nn.MaxPool2d) and pair(pool.kernel_size) == (2, 2)
            and pair(pool.stride) == (2, 2) and pair(pool.padding) == (0, 0)
            and pair(pool.dilation) == (1, 1) and not pool.ceil_mode
            and getattr(pool, "extra_pad", None) is None)


def padding_of(conv: nn.Conv2d) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` zero padding of ``conv``, with the extra bottom/right
    row and column of TensorFlow-style ``same`` padding (layers/conv.py's ``extra_pad``)."""
    rows, cols = conv.padding
    extra = getattr(conv, "extra_pad", None)
    bottom, right = (extra[3], extra[1]) if extra else (0, 0)
    return rows, cols, rows + bottom, cols + right


def eager_float_call(x: torch.Tensor, conv: nn.Conv2d, *others: nn.Module) -> bool:
    """Whether a kernel may run this call of ``conv`` (and the modules after it, fused):
    eager (not traced or exported, whose graphs must hold torch's ops), float32 on the
    CPU without autocast, a batch of images with ``conv``'s channels, and no hooks
    waiting for any of the modules (the kernel calls none, so pruning's or a FLOP
    counter's hooks would not run)."""
    weight = conv.weight
    return not (torch.compiler.is_exporting() or torch.jit.is_tracing()
                or x.dim() != 4 or x.shape[1] != conv.in_channels
                or x.dtype != torch.float32 or weight.dtype != torch.float32
                or x.device.type != "cpu" or weight.device.type != "cpu"
                or torch.is_autocast_enabled("cpu")
                or any(_hooked(module) for module in (conv, *others)))


def _hooked(module: nn.Module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks
                or nn.modules.module._global_forward_hooks
                or nn.modules.module._global_forward_pre_hooks)


def bias_of(conv: nn.Conv2d) -> torch.Tensor:
    """The convolution's bias, or zeros where it has none."""
    return conv.bias if conv.bias is not None else torch.zeros(conv.out_channels, **FLOAT_CPU)


def threads_for(images: int) -> int:
    """torch's threads for this thread (one inside a share), but at least
    ``IMAGES_PER_THREAD`` images each."""
    return max(1, min(torch.get_num_threads(), images // IMAGES_PER_THREAD))


def with_argument_types(library: ctypes.CDLL | None, arguments: dict) -> ctypes.CDLL | None:
    """``library`` (None passes through) with its functions' ctypes argument types set."""
    if library is not None:
        for function, types in arguments.items():
            getattr(library, function).argtypes = types
    return library
