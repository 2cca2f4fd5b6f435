"""Model files that are safe to open: JSON for the architecture, safetensors for weights.

A saved model is a folder holding ``model.json`` and ``weights.safetensors``, or the same
two files in one zip archive when the path ends in ``.keras`` or ``.cnnkit``. Other suffixes
are refused, as Keras 3 refuses them: ``.h5`` would be Keras's legacy HDF5, which cnnkit
cannot write. Weights alone go to ``NAME.weights.h5`` (the name Keras 3 requires; the file
holds safetensors) or ``NAME.safetensors``. Nothing is pickled, so a model file from
someone else cannot run code. Every write goes to a temporary name first and is renamed
into place, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from .. import __version__
from ..errors import ShapeError
from ..model_files import (
    ARCHIVE_SUFFIXES,
    ModelFileError,
    check_model_path,
    check_weights_path,
)
from ..paths import special_kind
from .safetensors_header import tensor_shapes

FORMAT = "cnnkit-model"
FORMAT_VERSION = 1
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_CONFIG_BYTES = 64_000_000  # model.json; a real one is kilobytes
MAX_INFLATION = 1000  # how much a zip member may expand; more is a zip bomb


def model_config(model) -> dict:
    """Everything but the weights, as JSON-ready data: the model's kind (``class_name``)
    and its ``get_config()`` (a Sequential's ``layers``, a functional model's graph, a
    wrapped module's architecture and options), then compile settings, class names and
    preprocessing."""
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "cnnkit_version": __version__,
        "class_name": model.keras_name,
        **model.get_config(),
        "compile": None if model.loss is None else {
            "optimizer": model.optimizer.get_config(), "loss": model.loss.get_config(),
            "metrics": [{"name": m.name, "k": m.k} for m in model.metrics]},
        "class_names": model.class_names,
        "preprocess": model.preprocess.get_config(),
    }


def _weights_bytes(model) -> bytes:
    state = {k: v.detach().contiguous() for k, v in model.net.state_dict().items()}
    layer_names = json.dumps([layer.name for layer in model.layers])
    return _sorted_header(save_safetensors_bytes(state, metadata={"format": FORMAT,
                                                                 "layers": layer_names}))


def _sorted_header(blob: bytes) -> bytes:
    """``blob`` with its header's keys sorted: the safetensors package writes the metadata
    in hash order, which changes from process to process, and the same model must give
    the same bytes (a resumed run's files equal an uninterrupted run's). Sorting keeps the
    header's length; the package pads it with spaces."""
    length = int.from_bytes(blob[:8], "little")
    header = json.dumps(json.loads(blob[8:8 + length]), sort_keys=True, separators=(",", ":"),
                        ensure_ascii=False).encode()
    if len(header) > length:  # escaped differently: keep the package's own header
        return blob
    return blob[:8] + header.ljust(length) + blob[8 + length:]


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
    path = Path(path)
    check_model_path(path)
    model._require_built()
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


def _refuse_special(*paths: Path) -> None:
    """A ModelFileError at once for a FIFO, device or socket, which reading would wait on
    or never finish."""
    for path in paths:
        if kind := special_kind(path):
            raise ModelFileError(f"{path} is {kind}, not a model file",
                                 hint="give the folder or .keras file written by model.save()")


def _model_inside(path: Path) -> Path | None:
    """The saved model a run directory (``runs/NAME``) or its ``model`` folder holds, when
    ``path`` is one of those instead of a model: ``model/best``, else ``model/last``."""
    if not path.is_dir() or (path / "model.json").exists():
        return None
    for inner in ("model/best", "model/last", "best", "last"):
        if (path / inner / "model.json").is_file():
            return path / inner
    return None


def _read_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    """One member of a model zip, refused unread when it would inflate like a zip bomb."""
    info = archive.getinfo(name)
    if info.file_size > MAX_INFLATION * info.compress_size + 1_000_000:
        raise ModelFileError(f"{path}: {name} would expand from {info.compress_size:,} to "
                             f"{info.file_size:,} bytes; not a model cnnkit wrote",
                             hint="cnnkit stores model files uncompressed; save it again "
                                  "with model.save()")
    return archive.read(name)


def read_parts(path: Path) -> tuple[dict, bytes]:
    """``(model.json as data, weights.safetensors bytes)`` of a saved model (a folder or a
    zip file); a ModelFileError when it is missing or not a cnnkit model."""
    path = path if path.exists() else _recover(path)
    if not path.exists():
        raise ModelFileError(f"model {path} does not exist",
                             hint="give the folder or .keras file written by model.save() or "
                                  "cnnkit train (runs/NAME/model/best)")
    _refuse_special(path, path / "model.json", path / "weights.safetensors")
    inside = _model_inside(path)
    if inside is not None:
        raise ModelFileError(f"{path} is a folder holding a model, not a model itself",
                             hint=f"give {inside}")
    try:
        if path.is_dir():
            config = (path / "model.json").read_bytes()
            weights = (path / "weights.safetensors").read_bytes()
        else:
            with zipfile.ZipFile(path) as archive:
                config = _read_member(archive, "model.json", path)
                weights = _read_member(archive, "weights.safetensors", path)
        if len(config) > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{path}: model.json has {len(config):,} bytes, more than "
                                 "any model's architecture needs")
        data = json.loads(config)
    except (OSError, KeyError, zipfile.BadZipFile, ValueError, RecursionError,
            NotImplementedError, EOFError, zlib.error) as exc:
        raise ModelFileError(f"{path} is not a readable cnnkit model ({exc})",
                             hint="it should hold model.json and weights.safetensors, as "
                                  "written by model.save()") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a cnnkit model file")
    return data, weights


def load_state(model, state: dict[str, torch.Tensor], path: Path) -> None:
    """Put ``state`` (read from ``path``) into the built model's network; a ModelFileError or
    ShapeError when it does not belong to the architecture."""
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
    """Write only the weights as a safetensors file named ``*.weights.h5`` or
    ``*.safetensors``."""
    path = Path(path)
    check_weights_path(path)
    model._require_built()
    data = _weights_bytes(model)
    _write_atomically(path, lambda target: target.write_bytes(data))


def _weights_state(data: bytes, path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors blob; a ModelFileError for HDF5 or anything else."""
    if data.startswith(HDF5_SIGNATURE):
        raise ModelFileError(f"{path} is an HDF5 file (Keras's own weights format); cnnkit "
                             "stores weights as safetensors and cannot read HDF5",
                             hint="in Keras, save the arrays: np.savez('w.npz', "
                                  "*model.get_weights()); in cnnkit, load them in the same "
                                  "order and layout: model.set_weights(list(np.load('w.npz')"
                                  ".values()))")
    tensor_shapes(data, path)  # the header checked before the package parses it
    try:
        return load_safetensors_bytes(data)
    except Exception as exc:  # safetensors raises its own error type for any damage
        raise ModelFileError(f"{path} is not a cnnkit weights file ({exc})",
                             hint="give a file written by save_weights() or a saved model"
                             ) from exc


def load_weights(model, path) -> None:
    """Load weights from a safetensors file or a saved model."""
    path = Path(path)
    _refuse_special(path)
    if path.is_dir() or zipfile.is_zipfile(path):
        _, data = read_parts(path)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(f"cannot read weights {path}: {exc.strerror}") from exc
    model._require_built()
    load_state(model, _rename_by_order(model, _weights_state(data, path), data), path)


__all__ = ["ModelFileError", "check_model_path", "check_weights_path", "load_weights",
           "model_config", "save_model", "save_weights"]
