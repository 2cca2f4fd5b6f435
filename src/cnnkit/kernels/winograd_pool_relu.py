"""A ReLU 3x3 convolution inside a network followed by 2x2 max pooling, as one CPU kernel
computing the convolution by Winograd's F(2x2, 3x3).

``Conv2D(64, 3, activation="relu")`` then ``MaxPooling2D(2)`` on the 32 channels of a
first layer is the second layer of the tutorial CNNs, where most of a training step went
(docs/performance.md). A 2x2 pooling window is exactly one Winograd output tile, so the
kernel (``winograd_pool_relu.cpp``) computes each window's four outputs with 16
multiplications per channel pair instead of 36, and pools and rectifies them before they
are stored; only the outputs the pooling reads are computed. Its backward pass gives the
input gradient as well as the weight and bias gradients. The results equal torch's up to
float rounding (Winograd's transforms add a few roundings: 2-3e-7 relative, against
float64, in the tests); ties in a pooling window go to the first position and NaN wins,
as in torch.

It covers input and output channels in multiples of 16, stride 1 and any zero padding;
elsewhere, and where ``guards.eager_float_call`` turns a call away, the layers run on
torch's ops.
"""

from __future__ import annotations

import ctypes

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from .build import load_kernel
from .guards import (
    CHANNEL_TILE,
    FLOAT_CPU,
    bias_of,
    eager_float_call,
    padding_of,
    plain_convolution,
    pooling_2x2,
    threads_for,
    with_argument_types,
)

KERNEL = "winograd_pool_relu"
POINTS = 16  # a 4x4 tile in the Winograd domain
# Below this many images torch's ops are faster: the filters' transform and the call cost
# ~100 us, which a single 13x13x32 image (72 us on torch's ops) does not repay; 2 images
# took 138 us against torch's 173.
MIN_IMAGES = 2

_POINTER, _LONG, _INT = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
_ARGUMENTS = {
    "cnnkit_winograd_pool_relu_forward": [_POINTER] * 6 + [_LONG] * 9 + [_INT],
    "cnnkit_winograd_pool_relu_backward": [_POINTER] * 8 + [_LONG] * 9 + [_INT],
}


def fusable(conv: nn.Module, pool: nn.Module) -> bool:
    """Whether ``conv`` (with ReLU) then ``pool`` is a shape the kernel computes: a plain
    stride-1 3x3 convolution with input and output channels in multiples of 16, then 2x2
    max pooling with stride 2 and no padding."""
    return (plain_convolution(conv, ((3, 3),)) and conv.in_channels % CHANNEL_TILE == 0
            and pooling_2x2(pool))


def _library() -> ctypes.CDLL | None:
    return with_argument_types(load_kernel(KERNEL), _ARGUMENTS)


def winograd_pool_relu(conv: nn.Conv2d, pool: nn.MaxPool2d, x: torch.Tensor
                       ) -> torch.Tensor | None:
    """``relu(pool(conv(x)))`` by the kernel, eagerly; None where it cannot run or would
    be slower, for the caller to use torch's ops: shapes ``fusable`` rejects, an input too
    small to pool, a single image, and the calls ``guards.eager_float_call`` turns
    away."""
    if (not eager_float_call(conv, pool, x) or not fusable(conv, pool)
            or x.shape[0] < MIN_IMAGES):
        return None
    padding = padding_of(conv)
    top, left, bottom, right = padding
    if min(x.shape[2] + top + bottom, x.shape[3] + left + right) < 4:
        return None  # nothing to pool: torch's ops say so in their own words
    library = _library()
    if library is None:
        return None
    return _WinogradPoolReLU.apply(library, x, conv.weight, bias_of(conv), padding)


class _WinogradPoolReLU(torch.autograd.Function):
    """The kernel's forward pass, and its input, weight and bias gradients."""

    @staticmethod
    def forward(ctx, library, x, weight, bias, padding):
        x = x.detach().contiguous(memory_format=torch.channels_last)
        weight = weight.detach().contiguous(memory_format=torch.channels_last)
        bias = bias.detach().contiguous()
        n, in_channels, height, width = x.shape
        filters = weight.shape[0]
        top, left, bottom, right = padding
        out_h, out_w = (height + top + bottom - 2) // 2, (width + left + right - 2) // 2
        y = torch.empty(n, filters, out_h, out_w, **FLOAT_CPU,
                        memory_format=torch.channels_last)
        which = torch.empty(n, out_h, out_w, filters, dtype=torch.uint8, device="cpu")
        transformed = torch.empty(2, POINTS, in_channels, filters, **FLOAT_CPU)
        library.cnnkit_winograd_pool_relu_forward(
            x.data_ptr(), weight.data_ptr(), bias.data_ptr(), transformed.data_ptr(),
            y.data_ptr(), which.data_ptr(), n, height, width, in_channels, filters, top, left,
            out_h, out_w, threads_for(n))
        ctx.library = library
        ctx.geometry = (n, height, width, in_channels, filters, top, left, out_h, out_w)
        ctx.save_for_backward(x, transformed, y, which)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, transformed, y, which = ctx.saved_tensors
        n, _, _, in_channels, filters = ctx.geometry[:5]
        grad_y = grad_y.contiguous(memory_format=torch.channels_last)
        grad_x = torch.empty_like(x) if ctx.needs_input_grad[1] else None
        grad_weight = torch.empty(filters, in_channels, 3, 3, **FLOAT_CPU,
                                  memory_format=torch.channels_last)
        grad_bias = torch.empty(filters, **FLOAT_CPU)
        ctx.library.cnnkit_winograd_pool_relu_backward(
            x.data_ptr(), transformed.data_ptr(), grad_y.data_ptr(), y.data_ptr(),
            which.data_ptr(), None if grad_x is None else grad_x.data_ptr(),
            grad_weight.data_ptr(), grad_bias.data_ptr(), *ctx.geometry, threads_for(n))
        return (None, grad_x, grad_weight, grad_bias if ctx.needs_input_grad[3] else None,
                None)
