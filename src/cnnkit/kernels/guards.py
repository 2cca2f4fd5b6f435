"""What cnnkit's fused convolution-pooling-ReLU kernels share: the checks that decide
whether a call may run on a kernel instead of torch's ops, the pooling they fuse, and how
many of torch's threads a call uses."""

from __future__ import annotations

import ctypes

import torch
import torch.autograd.forward_ad as forward_ad
from torch import nn

from ..layers.conv import Conv2d
from ..layers.pooling import MaxPool2d

FLOAT_CPU = {"dtype": torch.float32, "device": "cpu"}  # not torch's defaults, which may differ
CHANNEL_TILE = 16
IMAGES_PER_THREAD = 4


def pair(value) -> tuple:
    """``value`` as torch's modules hold a 2-D size: an int stands for both sides."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def plain_convolution(conv: nn.Module, kernel_sizes: tuple) -> bool:
    """Whether ``conv`` is a stride-1, undilated, ungrouped ``Conv2d`` with zero padding
    given as numbers, one of ``kernel_sizes`` and a multiple of 16 filters. Only torch's
    and cnnkit's own module: a subclass may compute something else in its ``forward``."""
    return (type(conv) in (nn.Conv2d, Conv2d) and tuple(conv.kernel_size) in kernel_sizes
            and conv.out_channels % CHANNEL_TILE == 0 and conv.groups == 1
            and tuple(conv.stride) == (1, 1) and tuple(conv.dilation) == (1, 1)
            and conv.padding_mode == "zeros" and isinstance(conv.padding, tuple))


def pooling_2x2(pool: nn.Module) -> bool:
    """Whether ``pool`` is 2x2 max pooling with stride 2, no padding, floor mode, giving
    values only (torch's or cnnkit's own module)."""
    return (type(pool) in (nn.MaxPool2d, MaxPool2d) and not pool.return_indices
            and pair(pool.kernel_size) == (2, 2)
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
    eager (not traced or exported, whose graphs must hold torch's ops), outside
    ``torch.func`` transforms and forward-mode AD (a kernel has no rule for them), float32
    on the CPU without autocast, a batch of images with ``conv``'s channels, and no hooks
    on any of the modules, forward or backward (the kernel calls none, so pruning's, a
    FLOP counter's or a gradient recorder's hooks would not run)."""
    weight = conv.weight
    return not (torch.compiler.is_exporting() or torch.jit.is_tracing()
                or torch._C._functorch.peek_interpreter_stack() is not None
                or forward_ad.unpack_dual(x).tangent is not None
                or x.dim() != 4 or x.shape[1] != conv.in_channels
                or any(tensor.dtype != torch.float32 or tensor.device.type != "cpu"
                       for tensor in (x, weight, conv.bias) if tensor is not None)
                or torch.is_autocast_enabled("cpu")
                or any(hooked(module) for module in (conv, *others)))


def hooked(module: nn.Module) -> bool:
    """Whether any forward or backward hook (the module's own or a global one) would see
    a call of ``module``."""
    everywhere = nn.modules.module
    return bool(module._forward_hooks or module._forward_pre_hooks
                or module._backward_hooks or module._backward_pre_hooks
                or everywhere._global_forward_hooks or everywhere._global_forward_pre_hooks
                or everywhere._global_backward_hooks
                or everywhere._global_backward_pre_hooks)


def bias_of(conv: nn.Conv2d) -> torch.Tensor:
    """The convolution's bias, or zeros where it has none."""
    return conv.bias if conv.bias is not None else torch.zeros(conv.out_channels, **FLOAT_CPU)


def threads_for(images: int) -> int:
    """torch's threads for this thread (one inside a share), but at least
    ``IMAGES_PER_THREAD`` images each."""
    return max(1, min(torch.get_num_threads(), images // IMAGES_PER_THREAD))


def with_argument_types(library: ctypes.CDLL | None, arguments: dict) -> ctypes.CDLL | None:
    """``library`` (None passes through) with its functions' ctypes argument types set
    (once)."""
    if library is not None and not getattr(library, "cnnkit_typed", False):
        for function, types in arguments.items():
            getattr(library, function).argtypes = types
        library.cnnkit_typed = True
    return library


def differentiable_gradients(reference, inputs: tuple, needed: tuple, grad_y: torch.Tensor
                             ) -> tuple:
    """The gradients of ``reference(*inputs)`` (torch's ops for what a kernel computed)
    for the ``needed`` inputs, with a graph of their own: a kernel's backward pass under
    ``create_graph=True`` (a gradient penalty, a Hessian) answers with these, which can be
    differentiated again, where its own could not."""
    with torch.enable_grad():
        wanted = [tensor for tensor, need in zip(inputs, needed, strict=True) if need]
        found = iter(torch.autograd.grad(reference(*inputs), wanted, grad_y,
                                         create_graph=True))
    return tuple(next(found) if need else None for need in needed)
