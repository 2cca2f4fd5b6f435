"""Keras-compatible names, so a Keras CNN script runs after changing only its imports::

    from cnnkit.keras import layers, models, callbacks, optimizers, datasets
"""

from . import (
    applications,
    backend,
    callbacks,
    config,
    datasets,
    distribution,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    optimizers,
    preprocessing,
    utils,
)
from .layers import Input
from .models import Model, Sequential, load_model

__all__ = ["Input", "Model", "Sequential", "applications", "backend", "callbacks", "config",
           "datasets", "distribution", "layers", "load_model", "losses", "metrics",
           "mixed_precision", "models", "optimizers", "preprocessing", "utils"]
