"""How closely an exported ONNX file matches the model: both predict the same real images,
and the largest absolute difference of the outputs and the top-1 agreement are reported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .onnx import run_onnx

TOLERANCE = 1e-4


@dataclass
class Parity:
    """The comparison of an exported file with ``model.predict`` on the same images."""

    images: int
    max_abs_diff: float
    top1_agreement: float  # fraction of images whose most likely class is the same

    @property
    def ok(self) -> bool:
        """Whether the outputs agree within :data:`TOLERANCE`."""
        return self.max_abs_diff <= TOLERANCE

    def describe(self) -> str:
        """One line for the command line."""
        agree = round(self.top1_agreement * self.images)
        return (f"checked on {self.images:,} images with onnxruntime: max |difference| "
                f"{self.max_abs_diff:.2e} (tolerance {TOLERANCE:.0e}), top-1 agreement "
                f"{self.top1_agreement:.2%} ({agree:,}/{self.images:,})")


def onnx_parity(model, path: Path, images: np.ndarray, batch: int | None = None,
                input_dtype: str = "uint8") -> Parity:
    """Compare ``model.predict`` with the ONNX file at ``path`` on uint8 ``images`` (scaled
    to floats first for a file that takes ``float32``)."""
    if input_dtype == "float32":
        pre = model.preprocess
        images = (images * np.float32(pre.scale) + np.float32(pre.offset)).astype(np.float32)
    expected = model.predict(images, verbose=0)
    if batch is not None:  # a file of fixed batch size takes whole batches only
        keep = len(images) - len(images) % batch
        images, expected = images[:keep], expected[:keep]
    got = run_onnx(path, images, batch)
    flat_e, flat_g = expected.reshape(len(images), -1), got.reshape(len(images), -1)
    return Parity(len(images), float(np.abs(flat_g - flat_e).max(initial=0.0)),
                  float((flat_g.argmax(1) == flat_e.argmax(1)).mean()) if len(images) else 1.0)
