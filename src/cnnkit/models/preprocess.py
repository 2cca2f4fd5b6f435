"""How images become a model's input: uint8 pixels scaled (``x * scale + offset``), floats
as they are, into a float32 NCHW tensor in channels_last memory (the NHWC bytes are used as
they are). Saved with the model, so files, the CLI and serving scale images as training
did."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Preprocess:
    """How uint8 pixels become model input: ``x * scale + offset`` (floats pass unchanged)."""

    scale: float = 1.0 / 255.0
    offset: float = 0.0

    def get_config(self) -> dict:
        """JSON-ready form, saved with the model."""
        return {"scale": self.scale, "offset": self.offset}

    def value_range(self) -> tuple[float, float]:
        """The range uint8 pixels 0..255 are mapped to."""
        return self.offset, 255.0 * self.scale + self.offset

    def __call__(self, images: np.ndarray) -> torch.Tensor:
        """The model input for an ``(N, H, W, C)`` batch: :func:`to_tensor`."""
        return to_tensor(images, self)


RAW_PIXELS = Preprocess(scale=1.0, offset=0.0)  # uint8 pixels as floats 0..255, as Keras


def to_tensor(images: np.ndarray, preprocess: Preprocess) -> torch.Tensor:
    """A float32 NCHW (channels_last) tensor from an ``(N, H, W, C)`` batch; an ``(N, D)``
    batch of vectors stays as it is."""
    if images.dtype == np.uint8:
        batch = np.empty(images.shape, dtype=np.float32)
        np.multiply(images, np.float32(preprocess.scale), out=batch, dtype=np.float32)
        if preprocess.offset:
            batch += np.float32(preprocess.offset)
    else:
        batch = np.ascontiguousarray(images, dtype=np.float32)
    tensor = torch.from_numpy(batch)
    return tensor.permute(0, 3, 1, 2) if tensor.dim() == 4 else tensor
