"""Loading a saved model (models/saving.py writes it): the architecture from model.json
into a new :class:`Sequential`, then the weights."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load as load_safetensors_bytes

from .. import layers as layer_lib
from ..train import losses, metrics, optimizers
from .preprocess import Preprocess
from .saving import load_state, read_parts
from .sequential import Sequential


def model_from_config(data: dict, compile: bool = True):
    """A built model (fresh weights) from :func:`model_config` output."""
    model = Sequential(name=data["name"], trainable=data.get("trainable", True))
    model.set_layers(data["input_shape"], [layer_lib.deserialize(c) for c in data["layers"]])
    model.class_names = data.get("class_names")
    model.preprocess = Preprocess(**data.get("preprocess", {}))
    if compile and data.get("compile"):
        c = data["compile"]
        model.optimizer = optimizers.get(c["optimizer"])
        model.loss = losses.get(c["loss"])
        model.metrics = [metrics.Metric(**m) for m in c["metrics"]]
    model.build()
    return model


def load_model(path, compile: bool = True):
    """Load a model saved with ``model.save()``: same layers, weights, classes, inputs."""
    path = Path(path)
    data, weights = read_parts(path)
    model = model_from_config(data, compile)
    load_state(model, load_safetensors_bytes(weights), path)
    return model
