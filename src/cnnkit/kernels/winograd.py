"""A ReLU 3x3 convolution inside the network, with or without the 2x2 max pooling after
it, as one CPU kernel computing the convolution by Winograd's F(2x2, 3x3).

``Conv2D(64, 3, activation="relu")`` on the 32 or 64 channels of an earlier layer is the
second (and the CIFAR-10 one's third) layer of the tutorial CNNs, where most of a training
step went (docs/performance.md). The kernel (``winograd.cpp``) computes each 2x2 block of
outputs with 16 multiplications per channel pair instead of 36. Followed by
``MaxPooling2D(2)``, a pooling window is exactly one such block: the four outputs are
pooled and rectified before they are stored, and only the outputs the pooling reads are
computed. Its backward pass gives the input gradient as well as the weight and bias
gradients.

The results equal torch's up to float rounding (Winograd's transforms add a few
roundings; against float64 they measured no further off than oneDNN's, and the tests
allow 2x). Ties in a pooling window go to the first position and NaN wins, as in torch;
two outputs of a window within rounding of each other may route the gradient differently
from oneDNN (either is a valid gradient), and a NaN or infinity in the input makes NaN
every output of the 2x2 blocks whose 4x4 input patches hold it (up to 4x4 outputs, where
torch's 3x3 read it). It covers input and output channels in
multiples of 16, stride 1 and any zero padding; elsewhere, for a single image (faster on
torch's ops), and where ``guards.eager_float_call`` turns a call away, the layers run on
torch's ops.
"""

from __future__ import annotations

import ctypes

import torch
import torch.nn.functional as F
from torch import nn

from . import guards
from .build import load_kernel

KERNEL = "winograd"
POINTS = 16  # a 4x4 tile in the Winograd domain
# Below this many images torch's ops are faster: the filters' transform and the call cost
# ~100 us, which a single 13x13x32 image (72 us on torch's ops) does not repay; 2 images
# took 138 us against torch's 173.
MIN_IMAGES = 2

_POINTER, _LONG, _INT = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
_ARGUMENTS = {
    "cnnkit_winograd_forward": [_POINTER] * 6 + [_LONG] * 9 + [_INT] * 2,
    "cnnkit_winograd_backward": [_POINTER] * 8 + [_LONG] * 9 + [_INT] * 2,
}


def relu_fusable(conv: nn.Module) -> bool:
    """Whether the kernel computes ``conv`` (with ReLU): a plain stride-1 3x3 convolution
    with input and output channels in multiples of 16."""
    return (guards.plain_convolution(conv, ((3, 3),))
            and conv.in_channels % guards.CHANNEL_TILE == 0)


def fusable(conv: nn.Module, pool: nn.Module) -> bool:
    """Whether the kernel computes ``conv`` (with ReLU) then ``pool``: ``relu_fusable``,
    then 2x2 max pooling with stride 2 and no padding."""
    return relu_fusable(conv) and guards.pooling_2x2(pool)


def winograd_pool_relu(conv: nn.Conv2d, pool: nn.MaxPool2d, x: torch.Tensor
                       ) -> torch.Tensor | None:
    """``relu(pool(conv(x)))`` by the kernel, eagerly; None where it cannot run or would
    be slower, for the caller to use torch's ops: shapes ``fusable`` rejects, an input too
    small to pool, a single image, and the calls ``guards.eager_float_call`` turns
    away."""
    if few(x) or not fusable(conv, pool) or not guards.eager_float_call(x, conv, pool):
        return None
    return _run(conv, x, pooled=True)


def winograd_relu(conv: nn.Conv2d, relu: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """``relu(conv(x))`` by the kernel, eagerly (the ``relu`` module itself is not called:
    given for its hooks); None where it cannot run or would be slower (as
    ``winograd_pool_relu``, with ``relu_fusable``)."""
    if few(x) or not relu_fusable(conv) or not guards.eager_float_call(x, conv, relu):
        return None
    return _run(conv, x, pooled=False)


def few(x: torch.Tensor) -> bool:
    """Whether ``x`` is fewer than ``MIN_IMAGES`` images (or not a batch of images): checked
    first, so that a one-image prediction pays nothing else for the kernel."""
    return x.dim() != 4 or x.shape[0] < MIN_IMAGES


def _run(conv: nn.Conv2d, x: torch.Tensor, pooled: bool) -> torch.Tensor | None:
    padding = guards.padding_of(conv)
    top, left, bottom, right = padding
    smallest = 4 if pooled else 3  # a 2x2 output to pool, or one output
    if min(x.shape[2] + top + bottom, x.shape[3] + left + right) < smallest:
        return None  # nothing to compute: torch's ops say so in their own words
    library = guards.with_argument_types(load_kernel(KERNEL), _ARGUMENTS)
    if library is None:
        return None
    return _Winograd.apply(library, x, conv.weight, guards.bias_of(conv), padding, pooled)


def with_torch_ops(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                   padding: tuple[int, int, int, int], pooled: bool) -> torch.Tensor:
    """What the kernel computes, by torch's ops (padding: top, left, bottom, right)."""
    top, left, bottom, right = padding
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias)
    return torch.relu(F.max_pool2d(y, 2) if pooled else y)


class _Winograd(torch.autograd.Function):
    """The kernel's forward pass, and its input, weight and bias gradients."""

    @staticmethod
    def forward(ctx, library, x_in, weight_in, bias_in, padding, pooled):
        x = x_in.detach().contiguous(memory_format=torch.channels_last)
        weight = weight_in.detach().contiguous(memory_format=torch.channels_last)
        bias = bias_in.detach().contiguous()
        n, in_channels, height, width = x.shape
        filters = weight.shape[0]
        top, left, bottom, right = padding
        out_h, out_w = height + top + bottom - 2, width + left + right - 2
        y_h, y_w = (out_h // 2, out_w // 2) if pooled else (out_h, out_w)
        y = torch.empty(n, filters, y_h, y_w, **guards.FLOAT_CPU,
                        memory_format=torch.channels_last)
        which = torch.empty(n, y_h, y_w, filters if pooled else 0, dtype=torch.uint8,
                            device="cpu")
        transformed = torch.empty(2, POINTS, in_channels, filters, **guards.FLOAT_CPU)
        ctx.geometry = (n, height, width, in_channels, filters, top, left, out_h, out_w,
                        int(pooled), guards.threads_for(n))
        library.cnnkit_winograd_forward(
            x.data_ptr(), weight.data_ptr(), bias.data_ptr(), transformed.data_ptr(),
            y.data_ptr(), which.data_ptr(), *ctx.geometry)
        ctx.library, ctx.padding, ctx.pooled = library, padding, pooled
        ctx.save_for_backward(x_in, weight_in, bias_in, x, transformed, y, which)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x_in, weight_in, bias_in, x, transformed, y, which = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: gradients to differentiate again
            return (None, *guards.differentiable_gradients(
                lambda *inputs: with_torch_ops(*inputs, ctx.padding, ctx.pooled),
                (x_in, weight_in, bias_in), ctx.needs_input_grad[1:4], grad_y), None, None)
        in_channels, filters = ctx.geometry[3:5]
        grad_y = grad_y.contiguous(memory_format=torch.channels_last)
        grad_x = torch.empty_like(x) if ctx.needs_input_grad[1] else None
        grad_weight = torch.empty(filters, in_channels, 3, 3, **guards.FLOAT_CPU,
                                  memory_format=torch.channels_last)
        grad_bias = torch.empty(filters, **guards.FLOAT_CPU)
        ctx.library.cnnkit_winograd_backward(
            x.data_ptr(), transformed.data_ptr(), grad_y.data_ptr(), y.data_ptr(),
            which.data_ptr(), None if grad_x is None else grad_x.data_ptr(),
            grad_weight.data_ptr(), grad_bias.data_ptr(), *ctx.geometry)
        return (None, grad_x, grad_weight, grad_bias if ctx.needs_input_grad[3] else None,
                None, None)
