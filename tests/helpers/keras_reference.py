"""The Keras oracle (``../shared/keras-reference``) and layout helpers for layer tests.

Tests that need a reference file skip with a message when the folder is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "keras-reference"


def reference_file(name: str) -> Path:
    """Path of a reference file; skips the calling test when it is missing."""
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"Keras reference file not found: {path}")
    return path


def load_json(name: str) -> dict:
    """A JSON reference file, parsed (skips when missing)."""
    return json.loads(reference_file(name).read_text())


def reference_cases(name: str, key: str = "cases") -> list:
    """``pytest.param`` list over a reference file's cases, for parametrize at import time.

    When the file is missing, one skipped param says where it was looked for.
    """
    path = REFERENCE / name
    if not path.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"Keras reference file not found: {path}"))]
    return json.loads(path.read_text())[key]


def to_torch(x_nhwc: np.ndarray) -> torch.Tensor:
    """A channels-last numpy batch as an NCHW tensor (channels_last memory)."""
    x = torch.as_tensor(np.asarray(x_nhwc, dtype=np.float32))
    return x.permute(0, 3, 1, 2) if x.dim() == 4 else x


def to_numpy(y: torch.Tensor) -> np.ndarray:
    """An NCHW (or (N, F)) tensor as a channels-last numpy batch."""
    y = y.detach()
    return (y.permute(0, 2, 3, 1) if y.dim() == 4 else y).numpy()


def run(module: nn.Module, input_shape: tuple[int, ...], batch: int = 1) -> np.ndarray:
    """Run ``module`` in eval mode on a zero batch of channels-last ``input_shape``."""
    with torch.no_grad():
        return to_numpy(module.eval()(to_torch(np.zeros((batch, *input_shape)))))


def param_counts(module: nn.Module) -> tuple[int, int]:
    """(trainable, non-trainable) as the model counts them: parameters requiring gradients,
    then the other parameters and the buffers except BatchNorm's ``num_batches_tracked``."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    frozen += sum(b.numel() for name, b in module.named_buffers()
                  if not name.endswith("num_batches_tracked"))
    return trainable, frozen
