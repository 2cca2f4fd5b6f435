"""Datasets: read images from folders, archives, lists, arrays, IDX files or by name.

``load(source, split)`` gives one :class:`ImageDataset`; ``load_splits(source)`` all of them.
"""

from ..errors import DataError
from .arrays import from_arrays
from .dataset import ImageDataset
from .load import load, load_splits
from .report import LoadReport
from .rows import ImageRows

__all__ = ["DataError", "ImageDataset", "ImageRows", "LoadReport", "from_arrays", "load",
           "load_splits"]
