"""`ImageDataset`: uint8 images, integer labels, class names and where each image came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from .report import LoadReport
from .rows import ImageRows


@dataclass
class ImageDataset:
    """A labelled image set held as a uint8 ``(N, H, W, C)`` array (often memory-mapped).

    ``images`` is the array itself, or, for a subset (:meth:`subset`, :meth:`split`,
    :meth:`fraction`), an :class:`~cnnkit.data.rows.ImageRows`: row numbers over the
    untouched array, read only when asked for (``np.asarray(dataset.images)`` copies them).

    ``labels[i]`` indexes ``class_names``; ``paths[i]`` is the source of image ``i`` when it
    came from a file (archive members read ``archive.tar.gz::member/path.png``).
    ``original_sizes[i]`` is ``(height, width)`` before resizing and ``original_modes[i]`` the
    Pillow mode of the source, when known (for ``cnnkit data inspect``).
    """

    images: np.ndarray | ImageRows
    labels: np.ndarray
    class_names: list[str]
    paths: list[str] | None = None
    name: str = ""
    report: LoadReport = field(default_factory=LoadReport)
    original_sizes: np.ndarray | None = None
    original_modes: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.uint8:
            raise DataError(
                f"dataset {self.name or ''} images must be uint8 (N, H, W, C); "
                f"got {self.images.dtype} {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise DataError(f"{len(self.images)} images but {len(self.labels)} labels",
                            hint="give exactly one label per image")
        if self.paths is not None and len(self.paths) != len(self.images):
            raise DataError(f"{len(self.images)} images but {len(self.paths)} paths")
        self.labels = np.asarray(self.labels, dtype=np.int64)
        n = len(self.class_names)
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= n):
            raise DataError(
                f"labels must lie in [0, {n}) for {n} class names; "
                f"found {self.labels.min()}..{self.labels.max()}")

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"ImageDataset({self.name!r}, {len(self):,} images of "
                f"{'x'.join(map(str, self.image_shape))}, {self.num_classes} classes)")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of every image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        """Number of class names (some may have no image in this particular subset)."""
        return len(self.class_names)

    def class_counts(self) -> dict[str, int]:
        """Images per class name, in class order."""
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return {name: int(n) for name, n in zip(self.class_names, counts, strict=True)}

    def subset(self, indices: Sequence[int] | np.ndarray | slice, name: str | None = None
               ) -> ImageDataset:
        """A dataset of the given images, always a view: a slice of the array, or row
        numbers over it (:class:`~cnnkit.data.rows.ImageRows`); no pixel is copied."""
        if isinstance(indices, slice):
            index = indices
            images = self.images[index]
            paths = self.paths[indices] if self.paths is not None else None
        else:
            index = np.asarray(indices, dtype=np.int64).reshape(-1)
            images = ImageRows(self.images, index)
            paths = [self.paths[i] for i in index] if self.paths is not None else None
        return ImageDataset(
            images, self.labels[index], list(self.class_names), paths,
            name if name is not None else self.name, self.report,
            None if self.original_sizes is None else self.original_sizes[index],
            None if self.original_modes is None else self.original_modes[index])

    def split(self, fraction: float = 0.2, seed: int = 0, stratify: bool = True
              ) -> tuple[ImageDataset, ImageDataset]:
        """Split into ``(rest, held_out)`` where ``held_out`` has about ``fraction`` of images.

        Stratified by default: each class gives the same share (at least one image from
        every class that has two or more). The same seed always gives the same split.
        """
        if not 0.0 < fraction < 1.0:
            raise DataError(f"split fraction must be between 0 and 1, got {fraction}")
        rng = np.random.default_rng(seed)
        if stratify:
            held = []
            for c in range(self.num_classes):
                members = np.flatnonzero(self.labels == c)
                if len(members) == 0:
                    continue
                n_held = round(len(members) * fraction)
                if len(members) >= 2:
                    n_held = min(max(n_held, 1), len(members) - 1)
                held.append(rng.permutation(members)[:n_held])
            held_idx = np.sort(np.concatenate(held)) if held else np.empty(0, np.int64)
        else:
            n_held = round(len(self) * fraction)
            held_idx = np.sort(rng.permutation(len(self))[:n_held])
        keep = np.ones(len(self), dtype=bool)
        keep[held_idx] = False
        base = self.name or "data"
        return (self.subset(np.flatnonzero(keep), base),
                self.subset(held_idx, f"{base} (held out)"))

    def fraction(self, fraction: float, seed: int = 0) -> ImageDataset:
        """A stratified random subset with about ``fraction`` of the images of each class."""
        if fraction >= 1.0:
            return self
        _, part = self.split(fraction, seed=seed, stratify=True)
        part.name = self.name
        return part

    def summary(self) -> str:
        """Images per class, the image shape and what the load skipped."""
        lines = [f"{self.name or 'dataset'}: {len(self):,} images, "
                 f"{'x'.join(map(str, self.image_shape))}, {self.num_classes} classes"]
        counts = self.class_counts()
        width = max((len(n) for n in counts), default=0)
        lines.extend(f"  {name:<{width}}  {n:>8,}" for name, n in counts.items())
        lines.extend(self.report.summary_lines())
        return "\n".join(lines)
