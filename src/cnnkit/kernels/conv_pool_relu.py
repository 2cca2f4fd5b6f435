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
(data, not another layer's output under training); elsewhere, where
``guards.eager_float_call`` turns a call away, or with ``CNNKIT_KERNELS=0``, the layers run
on torch's ops. ``fused.py`` picks between this kernel and the Winograd one, and runs
them between compiled graphs under ``torch.compile``.
"""

from __future__ import annotations

import ctypes

import torch
import torch.nn.functional as F
from torch import nn

from .build import load_kernel
from .guards import (
    FLOAT_CPU,
    bias_of,
    differentiable_gradients,
    eager_float_call,
    padding_of,
    plain_convolution,
    pooling_2x2,
    threads_for,
    with_argument_types,
)

KERNEL = "conv_pool_relu"
KERNEL_SIZES = ((3, 3), (5, 5))
MAX_IN_CHANNELS = 4

_POINTER, _LONG, _INT = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
_ARGUMENTS = {
    "cnnkit_conv_pool_relu_forward": [_INT] * 3 + [_POINTER] * 5 + [_LONG] * 4 + [_INT],
    "cnnkit_conv_pool_relu_backward": [_INT] * 3 + [_POINTER] * 6 + [_LONG] * 4 + [_INT],
}


def fusable(conv: nn.Module, pool: nn.Module) -> bool:
    """Whether ``conv`` (with ReLU) then ``pool`` is a shape the kernel computes: a plain
    stride-1 convolution with a 3x3 or 5x5 kernel, 1-4 input channels and a multiple of 16
    filters, then 2x2 max pooling with stride 2 and no padding."""
    return (plain_convolution(conv, KERNEL_SIZES) and conv.in_channels <= MAX_IN_CHANNELS
            and pooling_2x2(pool))


def _library() -> ctypes.CDLL | None:
    """The kernel's library with its functions' argument types set, or None."""
    return with_argument_types(load_kernel(KERNEL), _ARGUMENTS)


def conv_pool_relu(conv: nn.Conv2d, pool: nn.MaxPool2d, x: torch.Tensor
                   ) -> torch.Tensor | None:
    """``relu(pool(conv(x)))`` by the kernel, eagerly; None where it cannot run, for the
    caller to use torch's ops: shapes ``fusable`` rejects, an input that needs a gradient,
    and the calls ``guards.eager_float_call`` turns away."""
    if x.requires_grad or not eager_float_call(x, conv, pool) or not fusable(conv, pool):
        return None
    library = _library()
    if library is None:
        return None
    top, left, bottom, right = padding_of(conv)
    if top or left or bottom or right:
        x = F.pad(x, (left, right, top, bottom))
    if min(x.shape[2] - conv.kernel_size[0], x.shape[3] - conv.kernel_size[1]) < 1:
        return None  # nothing to pool: torch's ops say so in their own words
    return _ConvPoolReLU.apply(library, x, conv.weight, bias_of(conv))
class _ConvPoolReLU(torch.autograd.Function):
    """The kernel's forward pass, and its weight and bias gradients."""

    @staticmethod
    def forward(ctx, library, x, weight_in, bias_in):
        x = x.contiguous(memory_format=torch.channels_last)
        weight = weight_in.detach().contiguous(memory_format=torch.channels_last)
        bias = bias_in.detach().contiguous()
        n, in_channels, height, width = x.shape
        filters, _, kh, kw = weight.shape
        out_h, out_w = (height - kh + 1) // 2, (width - kw + 1) // 2
        y = torch.empty(n, filters, out_h, out_w, **FLOAT_CPU,
                        memory_format=torch.channels_last)
        which = torch.empty(n, out_h, out_w, filters, dtype=torch.uint8, device="cpu")
        done = library.cnnkit_conv_pool_relu_forward(
            kh, kw, in_channels, x.data_ptr(), weight.data_ptr(), bias.data_ptr(),
            y.data_ptr(), which.data_ptr(), n, height, width, filters, threads_for(n))
        if not done:
            raise RuntimeError(f"the {KERNEL} kernel has no {kh}x{kw} case with "
                               f"{in_channels} input channels")
        ctx.library = library
        ctx.save_for_backward(x, weight_in, bias_in, y, which)
        ctx.kernel_size = (kh, kw)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x, weight_in, bias_in, y, which = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: gradients to differentiate again
            return (None, *differentiable_gradients(
                lambda *inputs: torch.relu(F.max_pool2d(F.conv2d(*inputs), 2)),
                (x, weight_in, bias_in), ctx.needs_input_grad[1:4], grad_y))
        kh, kw = ctx.kernel_size
        n, in_channels, height, width = x.shape
        filters = y.shape[1]
        grad_y = grad_y.contiguous(memory_format=torch.channels_last)
        grad_weight = torch.empty(filters, in_channels, kh, kw, **FLOAT_CPU,
                                  memory_format=torch.channels_last)
        grad_bias = torch.empty(filters, **FLOAT_CPU)
        ctx.library.cnnkit_conv_pool_relu_backward(
            kh, kw, in_channels, x.data_ptr(), grad_y.data_ptr(), y.data_ptr(),
            which.data_ptr(), grad_weight.data_ptr(), grad_bias.data_ptr(), n, height, width,
            filters, threads_for(n))
        return None, None, grad_weight, grad_bias if ctx.needs_input_grad[3] else None
