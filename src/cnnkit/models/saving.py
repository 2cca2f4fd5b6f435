"""Model files that are safe to open: JSON for the architecture, safetensors for weights.

A saved model is a folder holding ``model.json`` and ``weights.safetensors``, or the same
two files in one zip archive when the path ends in ``.keras`` or ``.cnnkit``. Nothing is
pickled, so a model file from someone else cannot run code. Every write goes to a temporary
name first and is renamed into place, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from .. import __version__
from ..errors import CnnkitError, ShapeError
from ..train.batches import Preprocess

FORMAT = "cnnkit-model"
FORMAT_VERSION = 1
ARCHIVE_SUFFIXES = (".keras", ".cnnkit")


class ModelFileError(CnnkitError):
    """A model file that is missing, damaged or not a cnnkit model."""

    exit_code = 7


def model_config(model) -> dict:
    """Everything but the weights, as JSON-ready data."""
    from .. import layers as layer_lib

    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "cnnkit_version": __version__,
        "name": model.name,
        "input_shape": list(model._input_shape),
        "layers": [layer_lib.serialize(layer) for layer in model.layers],
        "compile": None if model.loss is None else {
            "optimizer": model.optimizer.get_config(), "loss": model.loss.get_config(),
            "metrics": [{"name": m.name, "k": m.k} for m in model.metrics]},
        "class_names": model.class_names,
        "preprocess": model.preprocess.get_config(),
    }


def _weights_bytes(model) -> bytes:
    state = {k: v.detach().contiguous() for k, v in model.net.state_dict().items()}
    layer_names = json.dumps([layer.name for layer in model.layers])
    return save_safetensors_bytes(state, metadata={"format": FORMAT, "layers": layer_names})


def _metadata(data: bytes) -> dict:
    """The ``__metadata__`` of a safetensors blob (an 8-byte length, then a JSON header)."""
    try:
        length = int.from_bytes(data[:8], "little")
        return json.loads(data[8:8 + length]).get("__metadata__") or {}
    except (ValueError, AttributeError):
        return {}


def _rename_by_order(model, state: dict[str, torch.Tensor], data: bytes
                     ) -> dict[str, torch.Tensor]:
    """Match saved weights to layers by position, as Keras's ``load_weights`` does, so
    weights from an identical architecture load even when automatic names differ."""
    saved = json.loads(_metadata(data).get("layers", "[]"))
    ours = [layer.name for layer in model.layers]
    if len(saved) != len(ours) or saved == ours:
        return state
    rename = {f"ops.{old}.": f"ops.{new}." for old, new in zip(saved, ours, strict=True)}
    renamed = {}
    for key, value in state.items():
        prefix = key[:key.index(".", 4) + 1] if key.startswith("ops.") else key
        renamed[rename.get(prefix, prefix) + key[len(prefix):]] = value
    return renamed


def _write_atomically(path: Path, write) -> None:
    """Call ``write(tmp_path)``, then rename ``tmp_path`` over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        target = tmp / path.name
        write(target)
        if path.is_dir() and not path.is_symlink():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.rename(path, old)
            os.rename(target, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(target, path)
    except OSError as exc:
        raise ModelFileError(f"could not save the model to {path}: {exc.strerror or exc}",
                             hint="check free disk space and write permission; the previous "
                                  "file, if any, is untouched") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` (a folder, or one zip file for .keras/.cnnkit)."""
    model._require_built()
    path = Path(path)
    config = json.dumps(model_config(model), indent=1).encode()
    weights = _weights_bytes(model)

    def write(target: Path) -> None:
        if path.suffix.lower() in ARCHIVE_SUFFIXES:
            with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
                archive.writestr("model.json", config)
                archive.writestr("weights.safetensors", weights)
        else:
            target.mkdir()
            (target / "model.json").write_bytes(config)
            (target / "weights.safetensors").write_bytes(weights)
        _fsync_tree(target)

    _write_atomically(path, write)


def _fsync_tree(target: Path) -> None:
    for file in [target] if target.is_file() else list(target.iterdir()):
        with open(file, "rb") as f:
            os.fsync(f.fileno())


def _recover(path: Path) -> Path:
    """``save`` renames a model folder it replaces to ``.NAME.old-PID`` for an instant; if a
    crash hit that instant, that copy is whole: use it."""
    olds = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    return olds[-1] if olds else path


def _read_parts(path: Path) -> tuple[dict, bytes]:
    path = path if path.exists() else _recover(path)
    if not path.exists():
        raise ModelFileError(f"model {path} does not exist",
                             hint="give the folder or .keras file written by model.save() or "
                                  "cnnkit train (runs/NAME/model/best)")
    try:
        if path.is_dir():
            config = (path / "model.json").read_bytes()
            weights = (path / "weights.safetensors").read_bytes()
        else:
            with zipfile.ZipFile(path) as archive:
                config = archive.read("model.json")
                weights = archive.read("weights.safetensors")
        data = json.loads(config)
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise ModelFileError(f"{path} is not a readable cnnkit model ({exc})",
                             hint="it should hold model.json and weights.safetensors, as "
                                  "written by model.save()") from exc
    if data.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a cnnkit model file")
    return data, weights


def model_from_config(data: dict, compile: bool = True):
    """A built model (fresh weights) from :func:`model_config` output."""
    from .. import layers as layer_lib
    from .sequential import Sequential

    model = Sequential(name=data["name"])
    model._input_shape = tuple(data["input_shape"])
    for config in data["layers"]:
        model._layers.append(layer_lib.deserialize(config))
    model.class_names = data.get("class_names")
    model.preprocess = Preprocess(**data.get("preprocess", {}))
    if compile and data.get("compile"):
        from ..train import losses, metrics, optimizers

        c = data["compile"]
        model.optimizer = optimizers.get(c["optimizer"])
        model.loss = losses.get(c["loss"])
        model.metrics = [metrics.Metric(**m) for m in c["metrics"]]
    model.build()
    return model


def load_model(path, compile: bool = True):
    """Load a model saved with ``model.save()``: same layers, weights, classes, inputs."""
    path = Path(path)
    data, weights = _read_parts(path)
    model = model_from_config(data, compile)
    _load_state(model, load_safetensors_bytes(weights), path)
    return model


def _load_state(model, state: dict[str, torch.Tensor], path: Path) -> None:
    expected = model.net.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise ModelFileError(f"{path}: the weights miss {', '.join(missing[:5])}",
                             hint="the file does not belong to this architecture")
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise ShapeError(f"{path}: weight {key} has shape {tuple(state[key].shape)}, the "
                             f"model expects {tuple(value.shape)}")
    model.net.load_state_dict({k: state[k] for k in expected})
    model.net.to(memory_format=torch.channels_last)


def save_weights(model, path) -> None:
    """Write only the weights as a safetensors file."""
    model._require_built()
    data = _weights_bytes(model)
    _write_atomically(Path(path), lambda target: target.write_bytes(data))


def load_weights(model, path) -> None:
    """Load weights from a safetensors file or a saved model."""
    path = Path(path)
    if path.is_dir() or zipfile.is_zipfile(path):
        _, data = _read_parts(path)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(f"cannot read weights {path}: {exc.strerror}") from exc
    model._require_built()
    _load_state(model, _rename_by_order(model, load_safetensors_bytes(data), data), path)


__all__ = ["ModelFileError", "load_model", "load_weights", "model_config",
           "model_from_config", "save_model", "save_weights"]
