"""The report's figures, drawn with matplotlib's Agg renderer (no display, no pyplot state).

Each function returns a :class:`matplotlib.figure.Figure`; :func:`png_bytes` renders one.
Sizes grow with the number of classes so that labels stay readable.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

DPI = 100             # the page is about 1080 px wide: figures up to 10.8 in show 1:1
TRAIN, VALIDATION = "#1f77b4", "#ff7f0e"
RIGHT, WRONG = "#2a7d2e", "#c62828"
MARKERS_UP_TO = 40        # epochs: more than this and the curves are drawn without markers
ANNOTATE_UP_TO = 25       # classes: more than this and confusion cells carry no numbers
LABEL_CHARACTERS = 18     # class names are shortened to this in image captions
GRID_COLUMNS = 8


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes (without a version stamp, so equal figures give equal files)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def training_curves(history: dict[str, list[float]]) -> Figure:
    """Loss and accuracy per epoch, training and validation, and the learning rate."""
    panels = [(key, title) for key, title in (("loss", "Loss"), ("accuracy", "Accuracy"),
                                              ("learning_rate", "Learning rate"))
              if key in history or f"val_{key}" in history]
    figure = Figure(figsize=(3.6 * len(panels), 3.2), layout="constrained")
    for ax, (key, title) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels,
                                strict=True):
        for name, label, colour, style in ((key, "training", TRAIN, "-"),
                                           (f"val_{key}", "validation", VALIDATION, "--")):
            if name in history:
                _curve(ax, history[name], label, colour, style)
        if key == "learning_rate":
            _rate_axis(ax, np.asarray(history[key], dtype=float))
        else:
            ax.legend(frameon=False)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    return figure


def _rate_axis(ax, rates: np.ndarray) -> None:
    """A log scale when the rate spans more than 10x, else a linear one from 0."""
    if np.nanmin(rates) > 0 and np.nanmax(rates) / np.nanmin(rates) > 10:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0.0, 1.25 * np.nanmax(rates))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))


def _curve(ax, values: Sequence[float], label: str, colour: str, style: str) -> None:
    epochs = np.arange(1, len(values) + 1)
    marker = "o" if len(values) <= MARKERS_UP_TO else None
    ax.plot(epochs, values, style, color=colour, marker=marker, markersize=4, label=label)


def confusion_heatmap(class_names: Sequence[str], confusion: np.ndarray,
                      normalized: np.ndarray) -> Figure:
    """Rows are true classes, columns predicted ones; the colour is the share of the true
    class, the number the image count."""
    n = len(class_names)
    side = min(max(4.5, 0.45 * n + 2.2), 22.0)
    figure = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = figure.subplots()
    shown = ax.imshow(normalized, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(shown, ax=ax, shrink=0.8, label="share of the true class")
    ax.set_xticks(range(n), [short(c) for c in class_names], rotation=45, ha="right")
    ax.set_yticks(range(n), [short(c) for c in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= ANNOTATE_UP_TO:
        size = 9 if n <= 12 else 7
        for (i, j), count in np.ndenumerate(confusion):
            if count or i == j:
                ax.text(j, i, f"{count:,}", ha="center", va="center", fontsize=size,
                        color="white" if normalized[i, j] > 0.55 else "black")
    return figure


def per_class_bars(class_names: Sequence[str], scores: dict[str, Sequence[float]]) -> Figure:
    """Precision, recall and F1 of each class as grouped horizontal bars."""
    n = len(class_names)
    figure = Figure(figsize=(8.0, 1.2 + 0.42 * n), layout="constrained")
    ax = figure.subplots()
    rows = np.arange(n)
    for offset, (key, colour) in zip((-0.27, 0.0, 0.27), (("precision", "#4c72b0"),
                                                         ("recall", "#dd8452"),
                                                         ("f1", "#55a868")), strict=True):
        ax.barh(rows + offset, scores[key], height=0.26, color=colour,
                label="F1" if key == "f1" else key)
    ax.set_yticks(rows, [short(c) for c in class_names])
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("score")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
    return figure


def example_grid(images: Sequence[np.ndarray], captions: Sequence[str],
                 correct: Sequence[bool]) -> Figure:
    """Images with a caption each, green when the model was right and red when not."""
    columns = min(GRID_COLUMNS, len(images))
    rows = math.ceil(len(images) / columns)
    figure = Figure(figsize=(1.35 * columns, 1.95 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, image, caption, right in zip(axes, images, captions, correct, strict=False):
        _show(ax, image, 1.3 * DPI)
        ax.set_title(caption, fontsize=9, color=RIGHT if right else WRONG)
    for ax in axes[len(images):]:
        ax.set_axis_off()
    return figure


def class_grid(samples: Sequence[tuple[str, np.ndarray]]) -> Figure:
    """One row per class, labelled with its name: a few of its images side by side."""
    height, width, channels = samples[0][1].shape[1:]
    columns = max(len(images) for _, images in samples)
    gap = max(1, height // 10)
    mosaic = np.full((len(samples) * (height + gap) - gap, columns * (width + gap) - gap,
                      channels), 255, dtype=np.uint8)
    for row, (_, images) in enumerate(samples):
        for column, image in enumerate(images):
            top, left = row * (height + gap), column * (width + gap)
            mosaic[top:top + height, left:left + width] = image
    figure = Figure(figsize=(2.0 + 0.95 * columns, 0.3 + 0.95 * len(samples)),
                    layout="constrained")
    ax = figure.subplots()
    _show(ax, mosaic, 0.95 * DPI * len(samples))
    ax.set_yticks([row * (height + gap) + height / 2 for row in range(len(samples))],
                  [short(name) for name, _ in samples], fontsize=10)
    ax.tick_params(axis="y", length=0)
    return figure


def _show(ax, image: np.ndarray, shown_height: float) -> None:
    """A uint8 (H, W, C) image drawn about ``shown_height`` pixels tall, without ticks or
    frame. Enlarged images keep sharp pixels (the model sees pixels, not a blur); shrunk
    ones are smoothed so they do not alias."""
    interpolation = "nearest" if image.shape[0] <= shown_height else "antialiased"
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255, interpolation=interpolation)
    else:
        ax.imshow(image, interpolation=interpolation)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def short(name: str) -> str:
    return name if len(name) <= LABEL_CHARACTERS else name[:LABEL_CHARACTERS - 1] + "…"
