"""Loading a saved model (models/saving.py writes it): the architecture from model.json
into a new model of the kind it names (Sequential, functional Model, ModuleModel), then
the weights."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load as load_safetensors_bytes

from .. import layers as layer_lib
from ..train import losses, metrics, optimizers
from .preprocess import Preprocess
from .saving import load_state, read_parts


def model_from_config(data: dict, compile: bool = True):
    """A built model (fresh weights) from :func:`~cnnkit.models.saving.model_config` output:
    the model kind its ``class_name`` names (a file without one, from before functional
    models, holds a Sequential), then its compile settings, classes and preprocessing."""
    model = layer_lib.get(data.get("class_name", "Sequential")).from_config(data)
    model.class_names = data.get("class_names")
    model.preprocess = Preprocess(**data.get("preprocess", {}))
    if compile and data.get("compile"):
        c = data["compile"]
        model.optimizer = optimizers.get(c["optimizer"])
        model.loss = losses.get(c["loss"])
        model.metrics = [metrics.Metric(**m) for m in c["metrics"]]
    if model.net is None:
        model.build()
    else:
        model._set_fusion()
    return model


def load_model(path, compile: bool = True):
    """Load a model saved with ``model.save()``: same layers, weights, classes, inputs."""
    path = Path(path)
    data, weights = read_parts(path)
    model = model_from_config(data, compile)
    load_state(model, load_safetensors_bytes(weights), path)
    return model
