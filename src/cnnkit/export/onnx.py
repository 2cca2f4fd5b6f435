"""ONNX export through torch's exporter (``torch.onnx.export(dynamo=True)``, which needs
the ``onnx`` and ``onnxscript`` packages: ``pip install 'cnnkit[serve]'``), and running an
exported file with onnxruntime."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .graph import INPUT_NAME, OUTPUT_NAME, ExportError

OPSET = 18
INSTALL_HINT = "pip install 'cnnkit[serve]' (onnx, onnxscript and onnxruntime)"


def require(module: str):
    """Import ``module`` or raise an ExportError that says how to install it."""
    try:
        return __import__(module)
    except ImportError as exc:
        raise ExportError(f"ONNX export needs the {module} package, which is not installed",
                          hint=INSTALL_HINT) from exc


def _quiet_export(module: nn.Module, args: tuple, target, dynamic: bool) -> None:
    """torch.onnx.export, without the exporter's progress lines and warnings."""
    require("onnx")
    require("onnxscript")
    shapes = ({0: torch.export.Dim("batch")},) if dynamic else None  # the one input's N
    for name in ("torch.onnx", "torch.onnx._internal.exporter._registration"):
        logging.getLogger(name).setLevel(logging.ERROR)  # "torchvision is not installed"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # and the exporter's report on stdout
        program = torch.onnx.export(module, args, dynamo=True, opset_version=OPSET,
                                    dynamic_shapes=shapes, verbose=False,
                                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
    if program is None:
        raise RuntimeError("the exporter returned no program")
    if target is not None:
        program.save(target)


def export_module(module: nn.Module, args: tuple) -> None:
    """Export ``module`` called on ``args`` to nothing (raises when it cannot)."""
    _quiet_export(module, args, None, dynamic=False)


def write_onnx(graph: nn.Module, example: torch.Tensor, path: Path, dynamic: bool,
               metadata_json: str) -> None:
    """Export ``graph`` to ``path`` with the cnnkit metadata in ``metadata_props``."""
    onnx = require("onnx")
    buffer = io.BytesIO()
    _quiet_export(graph, (example,), buffer, dynamic)
    proto = onnx.load_from_string(buffer.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = "cnnkit", metadata_json
    proto.doc_string = "cnnkit image classifier; metadata_props['cnnkit'] describes the input"
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())


def onnx_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file."""
    onnx = require("onnx")
    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False)
            .metadata_props}


def run_onnx(path: Path, images: np.ndarray, batch: int | None = None) -> np.ndarray:
    """The outputs of an exported file for ``images``, by onnxruntime on the CPU, in batches
    of ``batch`` (the file's fixed batch size; all at once when None)."""
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    step = batch or max(1, len(images))
    return np.concatenate([session.run(None, {INPUT_NAME: images[i:i + step]})[0]
                           for i in range(0, len(images), step)])


__all__ = ["ExportError", "export_module", "onnx_metadata", "run_onnx", "write_onnx"]
