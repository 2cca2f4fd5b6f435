"""``fashion-mnist-fast``: 92 % on Fashion-MNIST within a minute.

A BatchNorm CNN, Nesterov SGD under one cycle, label smoothing, horizontal flips and
shifts of up to 2 px, and the mirror image averaged in at test time.
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


def build(input_shape: tuple[int, int, int], num_classes: int) -> Sequential:
    """Conv-BN-ReLU stages of 32, 64 and 128 filters, each followed by 2x2 max pooling;
    global average pooling, softmax."""
    layers = [Input(input_shape)]
    for filters in (32, 64, 128):
        layers += [Conv2D(filters, 3, padding="same", use_bias=False), BatchNormalization(),
                   Activation("relu"), MaxPooling2D(2)]
    layers += [GlobalAveragePooling2D(), Dense(num_classes, activation="softmax")]
    return Sequential(layers, name="fashion_mnist_fast")


RECIPE = Recipe(
    name="fashion-mnist-fast",
    dataset="fashion-mnist",
    summary="BN CNN 32-64-128, Nesterov SGD one cycle, flips and 2 px shifts, flip TTA",
    build=build,
    image_size=28,                       # px
    epochs=4,                            # passes over the 60,000 training images
    batch_size=128,                      # images per step
    optimizer={"name": "sgd", "learning_rate": 0.1,   # peak rate of the cycle
               "momentum": 0.9, "nesterov": True,
               "weight_decay": 5e-4},    # L2 factor on every weight, per step
    schedule="onecycle:pct_start=0.25",  # rises over the first 25 % of the steps
    label_smoothing=0.1,
    augment="flip,crop=2",               # horizontal flips, shifts of up to 2 px
    tta="flip",                          # test: average the image's and its mirror's output
    published=(
        Published("Zalando benchmark, best sklearn model (SVC)", 0.897, "CPU, minutes"),
        Published("cnnkit tutorial CNN with dropout, Adam (docs/performance.md)", 0.911,
                  "82 s on 2 cores"),
    ),
)
