"""Keras-compatible names, so a Keras CNN script runs after changing only its imports::

    from cnnkit.keras import layers, models, callbacks, optimizers, datasets
"""

from . import (
    backend,
    callbacks,
    datasets,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    preprocessing,
    utils,
)
from .layers import Input
from .models import Sequential, load_model

__all__ = ["Input", "Sequential", "backend", "callbacks", "datasets", "layers", "load_model",
           "losses", "metrics", "models", "optimizers", "preprocessing", "utils"]
