"""A ReLU convolution on few channels followed by 2x2 max pooling, as one CPU kernel.

``Conv2D(k, 3, activation="relu")`` then ``MaxPooling2D(2)`` on 1-4 input channels opens
most image CNNs, and there torch's ops are slow: oneDNN runs a convolution with one input
channel at 25-75 GFLOP/s, and the pooling reads the whole convolution output again. The
kernel (``conv_pool_relu.cpp``) keeps each pooled pixel's four convolution outputs in
registers and writes only the pooled, rectified result and which window position won.
``fit()`` on the tutorial CNNs ran 1.24-1.53x as fast with it (docs/performance.md).

The results equal torch's up to float rounding (a different order of the sums); ties in a
pooling window go to the first position and NaN wins, as in torch. Only the weight and
bias gradients are computed, so the kernel runs only where the input needs no gradient
(data, not another layer's output under training); elsewhere, and under tracing or export,
autocast, or ``CNNKIT_KERNELS=0``, the layers run on torch's ops.

Under ``torch.compile`` (compiled prediction) the kernel runs eagerly between two compiled
graphs (a graph break): the compiled tutorial CNNs then predicted 1.67x as many images a
second at batch 256 as with the layer compiled (docs/performance.md).
"""

from __future__ import annotations

import ctypes

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from .build import load_kernel

KERNEL = "conv_pool_relu"
KERNEL_SIZES = ((3, 3), (5, 5))
MAX_IN_CHANNELS = 4
CHANNEL_TILE = 16
IMAGES_PER_THREAD = 4
_FLOAT_CPU = {"dtype": torch.float32, "device": "cpu"}  # not torch's defaults, which may differ

_POINTER, _LONG, _INT = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
_ARGUMENTS = {
    "cnnkit_conv_pool_relu_forward": [_INT] * 3 + [_POINTER] * 5 + [_LONG] * 4 + [_INT],
    "cnnkit_conv_pool_relu_backward": [_INT] * 3 + [_POINTER] * 6 + [_LONG] * 4 + [_INT],
}


def fusable(conv: nn.Module, pool: nn.Module) -> bool:
    """Whether ``conv`` (with ReLU) then ``pool`` is a shape the kernel computes: a plain
    stride-1 convolution with a 3x3 or 5x5 kernel, 1-4 input channels and a multiple of 16
    filters, then 2x2 max pooling with stride 2 and no padding."""
    return (isinstance(conv, nn.Conv2d) and isinstance(pool, nn.MaxPool2d)
            and tuple(conv.kernel_size) in KERNEL_SIZES
            and conv.in_channels <= MAX_IN_CHANNELS and conv.out_channels % CHANNEL_TILE == 0
            and conv.groups == 1 and tuple(conv.stride) == (1, 1)
            and tuple(conv.dilation) == (1, 1) and conv.padding_mode == "zeros"
            and isinstance(conv.padding, tuple)
            and _pair(pool.kernel_size) == (2, 2) and _pair(pool.stride) == (2, 2)
            and _pair(pool.padding) == (0, 0) and _pair(pool.dilation) == (1, 1)
            and not pool.ceil_mode and getattr(pool, "extra_pad", None) is None)


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


_typed: list[ctypes.CDLL] = []


def _library() -> ctypes.CDLL | None:
    """The kernel's library with its functions' argument types set, or None."""
    library = load_kernel(KERNEL)
    if library is not None and library not in _typed:
        for function, arguments in _ARGUMENTS.items():
            getattr(library, function).argtypes = arguments
        _typed.append(library)
    return library


def conv_pool_relu(conv: nn.Conv2d, pool: nn.MaxPool2d, x: torch.Tensor
                   ) -> torch.Tensor | None:
    """``relu(pool(conv(x)))`` by the kernel; None where it cannot run, for the caller to
    use torch's ops: shapes ``fusable`` rejects, an input that does not fit ``conv``, hooks
    on either module (the kernel calls neither, so they would not run), and the cases in
    the module docstring."""
    if torch.compiler.is_exporting() or torch.jit.is_tracing():
        return None  # an exported graph must hold torch's ops
    if torch.compiler.is_compiling():
        return _between_graphs(conv, pool, x)
    weight = conv.weight
    if (x.requires_grad
            or x.dim() != 4 or x.shape[1] != conv.in_channels
            or x.dtype != torch.float32 or weight.dtype != torch.float32
            or x.device.type != "cpu" or weight.device.type != "cpu"
            or torch.is_autocast_enabled("cpu") or _hooked(conv) or _hooked(pool)
            or not fusable(conv, pool)):
        return None
    library = _library()
    if library is None:
        return None
    rows, cols = conv.padding
    extra = getattr(conv, "extra_pad", None)
    bottom, right = (extra[3], extra[1]) if extra else (0, 0)
    if rows or cols or bottom or right:
        x = F.pad(x, (cols, cols + right, rows, rows + bottom))
    if min(x.shape[2] - conv.kernel_size[0], x.shape[3] - conv.kernel_size[1]) < 1:
        return None  # nothing to pool: torch's ops say so in their own words
    bias = (conv.bias if conv.bias is not None
            else torch.zeros(conv.out_channels, **_FLOAT_CPU))
    return _ConvPoolReLU.apply(library, x, weight, bias)


@torch.compiler.disable
def _between_graphs(conv: nn.Conv2d, pool: nn.MaxPool2d, x: torch.Tensor
                    ) -> torch.Tensor | None:
    """``conv_pool_relu`` run eagerly, where torch.compile would trace it."""
    return conv_pool_relu(conv, pool, x)


def _hooked(module: nn.Module) -> bool:
    """Whether forward hooks (the module's or global ones: pruning, FLOP counters) wait
    for this module to be called."""
    return bool(module._forward_hooks or module._forward_pre_hooks
                or nn.modules.module._global_forward_hooks
                or nn.modules.module._global_forward_pre_hooks)


def threads_for(images: int) -> int:
    """torch's threads for this thread (one inside a share), but at least
    ``IMAGES_PER_THREAD`` images each."""
    return max(1, min(torch.get_num_threads(), images // IMAGES_PER_THREAD))


class _ConvPoolReLU(torch.autograd.Function):
    """The kernel's forward pass, and its weight and bias gradients."""

    @staticmethod
    def forward(ctx, library, x, weight, bias):
        x = x.contiguous(memory_format=torch.channels_last)
        weight = weight.detach().contiguous(memory_format=torch.channels_last)
        bias = bias.detach().contiguous()
        n, in_channels, height, width = x.shape
        filters, _, kh, kw = weight.shape
        out_h, out_w = (height - kh + 1) // 2, (width - kw + 1) // 2
        y = torch.empty(n, filters, out_h, out_w, **_FLOAT_CPU,
                        memory_format=torch.channels_last)
        which = torch.empty(n, out_h, out_w, filters, dtype=torch.uint8, device="cpu")
        done = library.cnnkit_conv_pool_relu_forward(
            kh, kw, in_channels, x.data_ptr(), weight.data_ptr(), bias.data_ptr(),
            y.data_ptr(), which.data_ptr(), n, height, width, filters, threads_for(n))
        if not done:
            raise RuntimeError(f"the {KERNEL} kernel has no {kh}x{kw} case with "
                               f"{in_channels} input channels")
        ctx.library = library
        ctx.save_for_backward(x, y, which)
        ctx.kernel_size = (kh, kw)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, y, which = ctx.saved_tensors
        kh, kw = ctx.kernel_size
        n, in_channels, height, width = x.shape
        filters = y.shape[1]
        grad_y = grad_y.contiguous(memory_format=torch.channels_last)
        grad_weight = torch.empty(filters, in_channels, kh, kw, **_FLOAT_CPU,
                                  memory_format=torch.channels_last)
        grad_bias = torch.empty(filters, **_FLOAT_CPU)
        ctx.library.cnnkit_conv_pool_relu_backward(
            kh, kw, in_channels, x.data_ptr(), grad_y.data_ptr(), y.data_ptr(),
            which.data_ptr(), grad_weight.data_ptr(), grad_bias.data_ptr(), n, height, width,
            filters, threads_for(n))
        return None, None, grad_weight, grad_bias if ctx.needs_input_grad[3] else None
