"""Matplotlib figures for the explain tools: labelled grids of tiles and side-by-side panels.

Figures are made with ``matplotlib.figure.Figure`` on the Agg canvas, never with pyplot, so
nothing opens a window or keeps global state; save them with :func:`save_figure`. Pixels
are drawn as squares (no smoothing), so a 3x3 kernel shows its nine weights.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from PIL import Image

from ..atomic import atomic_file

TILE_INCHES = 0.9
GAP = 1  # white pixels between tiles
PANEL_INCHES = 3.0
DPI = 100


@dataclass
class Panel:
    """One image of a :func:`panels` figure: ``(H, W)`` drawn with ``cmap``, or ``(H, W, 3)``
    RGB (uint8, or floats in [0, 1]); ``limits`` fixes the colour scale of a 2-D image."""

    image: np.ndarray
    title: str
    cmap: str = "gray"
    limits: tuple[float, float] | None = None


def _draw(ax, image: np.ndarray, cmap: str, limits: tuple[float, float] | None) -> None:
    image = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    vmin, vmax = limits if limits else (None, None)
    ax.imshow(image, cmap=None if image.ndim == 3 else cmap, vmin=vmin, vmax=vmax,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _colours(tiles: np.ndarray, cmap: str, limits: tuple[float, float] | None) -> np.ndarray:
    """``(N, h, w, 3)`` RGB in [0, 1]: RGB tiles as given (uint8 scaled), 2-D tiles through
    ``cmap``, each on its own min..max scale unless ``limits`` gives one for all."""
    tiles = np.asarray(tiles, dtype=np.float64)
    if tiles.ndim == 4:
        return tiles / 255.0 if tiles.max(initial=0.0) > 1.0 else tiles
    if limits is None:
        low = tiles.min(axis=(1, 2), keepdims=True)
        spread = tiles.max(axis=(1, 2), keepdims=True) - low
    else:
        low, spread = np.float64(limits[0]), np.float64(limits[1] - limits[0])
    scaled = (tiles - low) / np.where(spread > 0, spread, 1.0)
    return colormaps[cmap](np.clip(scaled, 0.0, 1.0))[..., :3]


def tile_grid(tiles: np.ndarray, title: str, cmap: str = "gray",
              limits: tuple[float, float] | None = None) -> Figure:
    """A near-square grid of ``tiles`` (``(N, h, w)``, or ``(N, h, w, 3)`` RGB) under
    ``title``, drawn as one mosaic with white gaps.

    Tiles are numbered row by row: the number of a tile is its row's label (left) plus its
    column's label (below). 2-D tiles each get their own colour scale unless ``limits``
    gives one for all, which a colour bar then shows.
    """
    count = len(tiles)
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    colours = _colours(tiles, cmap, limits)
    height, width = colours.shape[1:3]
    mosaic = np.ones((rows * (height + GAP) - GAP, cols * (width + GAP) - GAP, 3))
    for index, tile in enumerate(colours):
        row, col = divmod(index, cols)
        top, left = row * (height + GAP), col * (width + GAP)
        mosaic[top:top + height, left:left + width] = tile
    side = min(max(cols * TILE_INCHES, 4.0), 12.0)
    fig = Figure(figsize=(side + (1.0 if limits else 0.0), side * rows / cols + 0.8), dpi=DPI)
    ax = fig.subplots()
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([c * (width + GAP) + (width - 1) / 2 for c in range(cols)],
                  labels=[str(c) for c in range(cols)])
    ax.set_yticks([r * (height + GAP) + (height - 1) / 2 for r in range(rows)],
                  labels=[str(r * cols) for r in range(rows)])
    ax.tick_params(length=0, labelsize=7)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=10)
    if limits:
        fig.colorbar(ScalarMappable(Normalize(*limits), cmap), ax=ax, shrink=0.8)
    return fig


def panels(items: list[Panel], title: str | None = None) -> Figure:
    """Images side by side, each with its title (before/after, image/Grad-CAM/saliency)."""
    fig = Figure(figsize=(PANEL_INCHES * len(items), PANEL_INCHES + 0.7), dpi=DPI)
    if title:
        fig.suptitle(title, fontsize=11)
    for ax, item in zip(fig.subplots(1, len(items), squeeze=False).ravel(), items,
                        strict=True):
        _draw(ax, item.image, item.cmap, item.limits)
        ax.set_title(item.title, fontsize=9)
    return fig


def to_uint8(values: np.ndarray) -> tuple[np.ndarray, str]:
    """Pixels to show a float result as: unchanged (rounded) when it lies in 0..255, else
    stretched linearly from its [min, max] to 0..255; also says which was done."""
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= 255.0:
        return np.rint(values).astype(np.uint8), "shown as is"
    spread = high - low or 1.0
    stretched = np.rint((values - low) / spread * 255.0).astype(np.uint8)
    return stretched, f"stretched from [{low:.4g}, {high:.4g}] to 0..255"


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` as a PNG (making its folder) and return the path."""
    path = Path(path)
    with atomic_file(path) as handle:
        fig.savefig(handle, format="png", bbox_inches="tight")
    return path


def save_image(pixels: np.ndarray, path: str | os.PathLike) -> Path:
    """Write uint8 ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` pixels as a PNG, pixel for
    pixel, and return the path."""
    path = Path(path)
    image = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    with atomic_file(path) as handle:
        Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(handle, format="PNG")
    return path
