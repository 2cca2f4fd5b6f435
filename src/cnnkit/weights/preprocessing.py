"""How images are prepared for a network's published weights, applied per batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ShapeError


@dataclass(frozen=True)
class Preprocessing:
    """Resize the shorter side to ``resize``, crop the centre ``crop`` x ``crop``, scale
    pixels to 0..1, then subtract ``mean`` and divide by ``std`` per channel.

    Images are decoded at ``resize`` x ``resize`` (the centre square of the resized image,
    e.g. ``data.load(source, image_size=resize)``); :meth:`batch` does the rest.
    """

    resize: int
    crop: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: str = "bilinear"

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, H, W, C)`` images at ``resize`` or ``crop`` size to the network's
        float ``(N, C, crop, crop)`` input (channels_last)."""
        height, width = images.shape[1:3]
        if (height, width) == (self.resize, self.resize):
            top = (self.resize - self.crop) // 2
            images = images[:, top:top + self.crop, top:top + self.crop]
        elif (height, width) != (self.crop, self.crop):
            raise ShapeError(f"images of {height}x{width} pixels: these weights expect "
                             f"{self.resize}x{self.resize} (centre-cropped to {self.crop}) "
                             f"or {self.crop}x{self.crop}",
                             hint=f"load the images with image_size={self.resize}")
        x = images.permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return ((x - mean) / std).contiguous(memory_format=torch.channels_last)
