"""``fashion-mnist-best``: 94 % on Fashion-MNIST in minutes.

A VGG-style BatchNorm CNN (two 3x3 convolutions per stage), Nesterov SGD under one cycle,
label smoothing, an average of the weights, flips and shifts, flip averaging at test time.
"""

from __future__ import annotations

from .mnist_best import build
from .recipe import Published, Recipe

RECIPE = Recipe(
    name="fashion-mnist-best",
    dataset="fashion-mnist",
    summary="BN CNN 32-64-128 (2 convs a stage), Nesterov SGD one cycle, EMA, flips, flip TTA",
    build=build,
    image_size=28,                       # px
    epochs=15,                           # passes over the 60,000 training images
    batch_size=128,                      # images per step
    optimizer={"name": "sgd", "learning_rate": 0.1,   # peak rate of the cycle
               "momentum": 0.9, "nesterov": True,
               "weight_decay": 5e-4},    # L2 factor on every weight, per step
    schedule="onecycle:pct_start=0.2",   # rises over the first 20 % of the steps
    label_smoothing=0.1,
    ema=0.999,                           # decay of the weight average, per step
    augment="flip,crop=2",               # horizontal flips, shifts of up to 2 px
    tta="flip",                          # test: average the image's and its mirror's output
    target=0.94,
    budget=600.0,
    published=(
        Published("ResNet-18 (paperswithcode)", 0.949, "GPU"),
        Published("Google AutoML Vision", 0.939, "24 compute hours"),
    ),
)
