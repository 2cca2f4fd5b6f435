"""Export a trained model for use without cnnkit: ONNX (onnxruntime, any language) or
TorchScript (libtorch). The file takes uint8 ``(N, H, W, C)`` pixels, scales them inside
(graph.py) and carries class names and preprocessing as metadata. A layer the exporter
cannot handle is named (culprit.py). docs/serving.md shows how to use the files."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from . import onnx as onnx_export
from . import torchscript
from .culprit import failing_layer
from .graph import ExportError, image_graph, image_shape, metadata_json

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}


@dataclass
class Exported:
    """Where an export went and what it takes."""

    path: Path
    format: str
    batch: int | None  # None: any batch size
    input_dtype: str


def check_format(format: str) -> str:
    """``format`` in lower case, or an ExportError listing the formats."""
    name = str(format).lower()
    if name not in FORMATS:
        raise ExportError(f"unknown export format {format!r}",
                          hint="use one of: " + ", ".join(FORMATS))
    return name


def export_model(model, path, format: str = "onnx", dynamic_batch: bool = True,
                 batch_size: int = 1, input_dtype: str = "uint8") -> Exported:
    """Write ``model`` to ``path`` as ONNX or TorchScript.

    The file takes ``input_dtype`` images ``(N, H, W, C)``: ``uint8`` pixels (scaled inside
    as ``model.predict`` scales them) or ``float32`` values (as ``model(x)`` takes them,
    Keras's convention). ``dynamic_batch`` lets N vary; otherwise N is ``batch_size``.
    Raises an ExportError naming the layer when one cannot be exported.
    """
    format = check_format(format)
    if batch_size < 1:
        raise ExportError(f"batch_size must be at least 1, got {batch_size}")
    path = Path(path)
    graph = image_graph(model, input_dtype)
    dtype = torch.uint8 if input_dtype == "uint8" else torch.float32
    # A batch of 2 for a dynamic batch: the exporter specialises a size of 1.
    example = torch.zeros((2 if dynamic_batch else batch_size, *image_shape(model)),
                          dtype=dtype)
    batch = None if dynamic_batch else batch_size
    meta = metadata_json(model, input_dtype, batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if format == "onnx":
            onnx_export.write_onnx(graph, example, tmp, dynamic_batch, meta)
        else:
            torchscript.write_torchscript(graph, example, tmp, meta)
        os.replace(tmp, path)
    except ExportError:
        raise
    except Exception as exc:  # the exporters raise many types: find the layer
        raise _named_failure(graph, example, format, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return Exported(path, format, batch, input_dtype)


def _named_failure(graph, example, format: str, exc: Exception) -> ExportError:
    exporter = onnx_export if format == "onnx" else torchscript
    found = failing_layer(graph, example, exporter.export_module)
    reason = _first_line(exc)
    if found is None:
        return ExportError(f"could not export the model to {format}: {reason}",
                           hint="each layer exports on its own; the failure is in how they "
                                "are joined: please report it with the model file")
    name, module, error = found
    return ExportError(f"could not export layer {name!r} ({type(module).__name__}) to "
                       f"{format}: {_first_line(error)}",
                       hint="replace or remove that layer, or export to the other format")


def _first_line(exc: BaseException) -> str:
    """The first line of the innermost cause (the exporters wrap the reason in layers of
    advice), without terminal colour codes."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", (str(exc).strip().splitlines() or [""])[0])[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["FORMATS", "ExportError", "Exported", "check_format", "export_model"]
