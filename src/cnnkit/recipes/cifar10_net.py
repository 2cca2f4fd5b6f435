"""The CIFAR-10 recipes' network: airbench's VGG-like net of conv-BN-GELU blocks.

After Keller Jordan's airbench94 (2024), which reaches 94 % on CIFAR-10 in under 10
epochs: a fixed whitening 2x2 convolution (layers/whitening.py), then three blocks of

    3x3 conv -> 2x2 max pool -> BatchNorm -> GELU -> 3x3 conv -> BatchNorm -> GELU

(airbench's widths 64, 256, 256), a global max pool, a linear layer without bias and a
fixed 1/9 scale of the logits (large initial logits slow the start) and a softmax. Written with the
Keras layers, so the model summarises, saves, exports and explains like any other; any
image size of at least 16x16 works (the three pools need it), and any number of channels
and classes.
"""

from __future__ import annotations

from .. import layers
from ..errors import ShapeError
from ..models.sequential import Sequential

LOGIT_SCALE = 1 / 9  # airbench's: keeps the initial logits small
BN_MOMENTUM = 0.9  # Keras convention (weight of the old moving average): ~10-step memory
BN_EPSILON = 1e-5  # torch's default; Keras's 1e-3 is for unnormalised inputs
MIN_SIDE = 16  # px: the whitening (-1) and three 2x2 pools leave at least one pixel


def conv_block(width: int, name: str) -> list:
    """conv -> pool -> BN -> GELU -> conv -> BN -> GELU at ``width`` channels."""
    def bn(part: str):
        return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                         name=f"{name}_bn{part}")
    return [layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv1"),
            layers.MaxPooling2D(2, name=f"{name}_pool"), bn("1"),
            layers.Activation("gelu", name=f"{name}_gelu1"),
            layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv2"),
            bn("2"), layers.Activation("gelu", name=f"{name}_gelu2")]


def airbench_net(input_shape: tuple[int, int, int], num_classes: int,
                 widths: tuple[int, int, int] = (64, 256, 256),
                 name: str = "airbench") -> Sequential:
    """The network for ``input_shape`` (H, W, C) images and ``num_classes`` classes."""
    if min(input_shape[:2]) < MIN_SIDE:
        raise ShapeError(f"the {name} network needs images of at least {MIN_SIDE}x{MIN_SIDE} "
                         f"px, got {input_shape[0]}x{input_shape[1]}",
                         hint=f"resize them: cnnkit train --image-size {MIN_SIDE} or more")
    stack = [layers.Input(tuple(input_shape)),
             layers.PatchWhitening(2, activation="gelu", name="whiten")]
    for index, width in enumerate(widths, start=1):
        stack += conv_block(width, f"block{index}")
    stack += [layers.GlobalMaxPooling2D(name="pool"),
              layers.Dense(num_classes, use_bias=False, name="logits"),
              layers.Rescaling(LOGIT_SCALE, name="logit_scale"),
              layers.Activation("softmax", name="probabilities")]
    return Sequential(stack, name=name)
