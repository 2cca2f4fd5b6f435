"""``mnist-best``: 99.5 % on MNIST in about three minutes.

A BatchNorm CNN (one 3x3 conv-BN-ReLU per stage, 32, 64 and 128 filters, 2x2 max pooling
after each, global average pooling), 12 epochs of Nesterov SGD under one cycle, label
smoothing, a moving average of the weights, random shifts of up to 2 px. Under bf16
autocast (where the CPU has it natively) this net trains 1.8x faster than in fp32
(1 thread: 2.8k against 1.6k images per CPU second); elsewhere it runs in fp32.
Measured (seed 0, busy machine): 99.53 % (99.51 % without the weight average) in 313 CPU
seconds. Tried: two convolutions per stage (29 M multiply-adds per image instead of 7.4 M:
3x dearer, too slow for the budget).
"""

from __future__ import annotations

from ..layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    Input,
    MaxPooling2D,
)
from ..models import Sequential
from .recipe import Published, Recipe


def conv_bn(filters: int) -> list:
    """3x3 convolution (same padding, no bias: BatchNorm has one), BatchNorm, ReLU."""
    return [Conv2D(filters, 3, padding="same", use_bias=False), BatchNormalization(),
            Activation("relu")]


def build(input_shape: tuple[int, int, int], num_classes: int) -> Sequential:
    """conv-BN-ReLU stages of 32, 64 and 128 filters, each followed by 2x2 max pooling;
    global average pooling, softmax."""
    layers = [Input(input_shape)]
    for filters in (32, 64, 128):
        layers += [*conv_bn(filters), MaxPooling2D(2)]
    layers += [GlobalAveragePooling2D(), Dense(num_classes, activation="softmax")]
    return Sequential(layers, name="mnist_best")


RECIPE = Recipe(
    name="mnist-best",
    dataset="mnist",
    summary="BN CNN 32-64-128, 12 epochs Nesterov SGD one cycle, label smoothing, EMA, "
            "2 px shifts",
    build=build,
    image_size=28,                       # px
    epochs=12,                           # passes over the 60,000 training images
    batch_size=128,                      # images per step
    optimizer={"name": "sgd", "learning_rate": 0.1,   # peak rate of the cycle
               "momentum": 0.9, "nesterov": True,
               "l2": 5e-4},            # L2 factor on every weight, per step
    schedule="onecycle:pct_start=0.2",   # rises over the first 20 % of the steps
    label_smoothing=0.1,
    ema=0.99,                            # decay of the weight average, per step
    augment="crop=2",                    # random shifts of up to 2 px (zero padding)
    target=0.995,
    budget=180.0,
    measured="99.52 % in 217 s (seed 0, 2 idle cores): over the 3-minute budget",
    published=(
        Published("Wan et al. 2013, DropConnect ensemble", 0.9979, "5 networks, GPU hours"),
        Published("Simard et al. 2003, CNN with elastic distortions", 0.996, "one network"),
    ),
)
