"""Match a dataset's classes to a model's by name, so label ``i`` means the same class to
both even when the two list their classes in different orders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.dataset import ImageDataset
from ..errors import ShapeError


def align_classes(dataset: ImageDataset, class_names: Sequence[str]) -> ImageDataset:
    """``dataset`` relabelled so that its labels index ``class_names``.

    Every class that has images in ``dataset`` must be one of ``class_names``; the model
    may know classes the data has no image of. Raises a ShapeError naming the classes that
    do not match.
    """
    class_names = list(class_names)
    if dataset.class_names == class_names:
        return dataset
    present = [name for name, n in dataset.class_counts().items() if n]
    unknown = [name for name in present if name not in class_names]
    if unknown:
        raise ShapeError(
            f"{dataset.name or 'the data'} has images of "
            f"{len(unknown)} class(es) the model does not know: {', '.join(unknown)}",
            hint=f"the model's classes are: {', '.join(class_names)}; evaluate on data "
                 "whose class folders (or labels) carry these names")
    index = {name: i for i, name in enumerate(class_names)}
    mapping = np.array([index.get(name, -1) for name in dataset.class_names], dtype=np.int64)
    return ImageDataset(dataset.images, mapping[dataset.labels], class_names, dataset.paths,
                        dataset.name, dataset.report, dataset.original_sizes,
                        dataset.original_modes)
