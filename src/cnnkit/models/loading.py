"""Loading a saved model (models/saving.py writes it): the architecture from model.json
into a new model of the kind it names (Sequential, functional Model, ModuleModel), then
the weights.

Nothing is allocated before it is checked: the weight file's header gives every tensor's
shape (models/safetensors_header.py), the architecture is first built on torch's ``meta``
device (shapes without memory), and the two must agree before the real model is made. A
``model.json`` asking for ``units: 500000`` is refused at once instead of allocating
gigabytes; a file that passes allocates what its weight file holds.
"""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load as load_safetensors_bytes

from .. import layers as layer_lib
from ..errors import CnnkitError
from ..model_files import ModelFileError
from ..train import losses, metrics, optimizers
from .memory import on_meta
from .preprocess import Preprocess
from .safetensors_header import tensor_shapes
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


def _build(data: dict, compile: bool, path: Path):
    """:func:`model_from_config`, with anything a damaged model.json makes the layers raise
    turned into a ModelFileError (cnnkit's own errors pass as they are)."""
    try:
        return model_from_config(data, compile)
    except CnnkitError:
        raise
    except Exception as exc:  # any layer's constructor may choke on a damaged value
        raise ModelFileError(f"{path}: model.json describes no model cnnkit can build "
                             f"({type(exc).__name__}: {exc})",
                             hint="the file is damaged or was edited by hand; save the model "
                                  "again with model.save()") from exc


def check_against_weights(data: dict, shapes: dict[str, tuple[int, ...]], path: Path) -> None:
    """Build ``data``'s architecture on the meta device (no memory) and compare every weight
    shape with the weight file's ``shapes``; a ModelFileError on the first disagreement."""
    skeleton = on_meta(lambda: _build(data, False, path))
    for key, tensor in skeleton.net.state_dict().items():
        if key not in shapes:
            raise ModelFileError(f"{path}: model.json asks for weight {key}, which "
                                 "weights.safetensors does not hold",
                                 hint="the two files do not belong together")
        if tuple(tensor.shape) != shapes[key]:
            raise ModelFileError(f"{path}: model.json makes weight {key} of shape "
                                 f"{tuple(tensor.shape)}, weights.safetensors holds "
                                 f"{shapes[key]}",
                                 hint="the two files do not belong together (a layer size in "
                                      "model.json was changed?)")


def load_model(path, compile: bool = True):
    """Load a model saved with ``model.save()``: same layers, weights, classes, inputs."""
    path = Path(path)
    data, weights = read_parts(path)
    check_against_weights(data, tensor_shapes(weights, path), path)
    model = _build(data, compile, path)
    load_state(model, load_safetensors_bytes(weights), path)
    return model
