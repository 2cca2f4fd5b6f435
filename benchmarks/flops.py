"""Training FLOPs per image of a torch network, from its convolutions and dense layers.

The formula (the usual convention, e.g. Kaplan et al. 2020, "6 N" per token):

- A convolution does ``weight.numel()`` multiply-adds (MACs) per output position:
  every output channel sums ``in_channels / groups * kh * kw`` products. Over the image
  that is ``weight.numel() * H_out * W_out`` MACs. A dense layer does ``weight.numel()``.
- One MAC is 2 FLOPs, so a forward pass is ``2 * MACs``.
- The backward pass computes two products of the same size as the forward one: the
  gradient with respect to the input and the one with respect to the weights. Training
  (forward + backward) is therefore ``3 * 2 * MACs`` = ``6 * MACs`` per image.

Biases, activations, pooling, the loss and the optimizer are left out: they are
memory-bound and add well under 1 % of the arithmetic of these networks. The first layer
needs no input gradient, so the true count is slightly lower; the convention keeps it.
"""

from __future__ import annotations

import torch
from torch import nn

FORWARD_AND_BACKWARD = 3
FLOPS_PER_MAC = 2


def forward_macs(net: nn.Module, image_shape: tuple[int, int, int]) -> int:
    """Multiply-adds of one forward pass of ``net`` on one ``(C, H, W)`` image, counted by
    running it once with hooks on every ``nn.Conv2d`` and ``nn.Linear`` (a layer with hooks
    runs on torch's ops, so cnnkit's fused first layer calls its modules here too)."""
    total = 0

    def count(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        positions = output.shape[2] * output.shape[3] if isinstance(module, nn.Conv2d) else 1
        total += module.weight.numel() * positions

    hooks = [m.register_forward_hook(count) for m in net.modules()
             if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        was_training = net.training
        with torch.no_grad():
            net.eval()(torch.zeros(1, *image_shape).contiguous(memory_format=torch.channels_last))
        net.train(was_training)
    finally:
        for hook in hooks:
            hook.remove()
    return total


def training_flops(net: nn.Module, image_shape: tuple[int, int, int]) -> int:
    """FLOPs of one training step per image (forward + backward): ``6 * MACs``."""
    return FORWARD_AND_BACKWARD * FLOPS_PER_MAC * forward_macs(net, image_shape)
