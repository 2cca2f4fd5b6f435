"""``mnist-best``: 99.5 %+ on MNIST in a few minutes.

A VGG-style CNN with BatchNorm (two 3x3 convolutions per stage), Nesterov SGD under one
cycle, label smoothing, an average of the weights, shifts of up to 2 px.
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


def _conv_bn(filters: int) -> list:
    """3x3 convolution (same padding, no bias), BatchNorm, ReLU."""
    return [Conv2D(filters, 3, padding="same", use_bias=False), BatchNormalization(),
            Activation("relu")]


def build(input_shape: tuple[int, int, int], num_classes: int) -> Sequential:
    """Stages of 32, 64 and 128 filters (two conv-BN-ReLU each, then 2x2 max pooling),
    global average pooling, softmax."""
    layers = [Input(input_shape)]
    for filters in (32, 64, 128):
        layers += _conv_bn(filters) + _conv_bn(filters) + [MaxPooling2D(2)]
    layers += [GlobalAveragePooling2D(), Dense(num_classes, activation="softmax")]
    return Sequential(layers, name="mnist_best")


RECIPE = Recipe(
    name="mnist-best",
    dataset="mnist",
    summary="BN CNN 32-64-128, Nesterov SGD one cycle, label smoothing, EMA, 2 px shifts",
    build=build,
    image_size=28,                       # px
    epochs=8,                            # passes over the 60,000 training images
    batch_size=128,                      # images per step
    optimizer={"name": "sgd", "learning_rate": 0.1,   # peak rate of the cycle
               "momentum": 0.9, "nesterov": True,
               "weight_decay": 5e-4},    # L2 factor on every weight, per step
    schedule="onecycle:pct_start=0.2",   # rises over the first 20 % of the steps
    label_smoothing=0.1,
    ema=0.999,                           # decay of the weight average, per step
    augment="crop=2",                    # random shifts of up to 2 px (zero padding)
    target=0.995,
    budget=180.0,
    published=(
        Published("Wan et al. 2013, DropConnect ensemble", 0.9979, "5 networks, GPU hours"),
        Published("Simard et al. 2003, CNN with elastic distortions", 0.996, "one network"),
    ),
)
