"""``mnist-fast``: 99 % on MNIST in seconds.

A small plain CNN (the first layer runs as cnnkit's fused conv-ReLU-pool kernel, the
second by Winograd), a few epochs of Nesterov SGD under one cycle, shifts of up to 2 px.
"""

from __future__ import annotations

from ..layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from ..models import Sequential
from .recipe import Published, Recipe


def build(input_shape: tuple[int, int, int], num_classes: int) -> Sequential:
    """Conv 32 - pool - conv 64 - pool - dense 128 - softmax."""
    return Sequential([
        Input(input_shape),
        Conv2D(32, 3, activation="relu"),      # 3x3 filters, no padding
        MaxPooling2D(2),
        Conv2D(64, 3, activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(128, activation="relu"),
        Dense(num_classes, activation="softmax"),
    ], name="mnist_fast")


RECIPE = Recipe(
    name="mnist-fast",
    dataset="mnist",
    summary="small CNN, 2 epochs of Nesterov SGD under one cycle, 2 px shifts",
    build=build,
    image_size=28,                       # px
    epochs=2,                            # passes over the 60,000 training images
    batch_size=128,                      # images per step
    optimizer={"name": "sgd", "learning_rate": 0.05,  # peak rate of the cycle
               "momentum": 0.9, "nesterov": True,
               "weight_decay": 5e-4},    # L2 factor on every weight, per step
    schedule="onecycle:pct_start=0.25",  # rises over the first 25 % of the steps
    label_smoothing=0.1,
    augment="crop=2",                    # random shifts of up to 2 px (zero padding)
    published=(
        Published("LeCun et al. 1998, LeNet-5", 0.9905, "20 epochs, 1998 hardware"),
        Published("Keras example mnist_convnet", 0.991, "15 epochs, about 1 min on a laptop CPU"),
    ),
)
