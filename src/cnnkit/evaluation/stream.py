"""`evaluate_model`: predict over an image set batch by batch and accumulate the metrics.

Only one batch of images and probabilities is in memory at a time, so a memory-mapped
dataset larger than RAM can be evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..data.dataset import ImageDataset
from ..data.progress import progress_bar
from ..models.probabilities import class_probabilities
from .accumulate import Accumulator
from .classes import align_classes
from .result import Evaluation


def evaluate_model(model, dataset: ImageDataset, batch_size: int = 256, progress: bool = True,
                   top_k: Sequence[int] = (5,), worst: int = 16, bins: int = 15,
                   tta: str | None = None) -> Evaluation:
    """Evaluate ``model`` (anything with ``predict`` and ``class_names``, such as a
    :class:`~cnnkit.models.Sequential`) on ``dataset``.

    When the model knows its class names, the dataset's classes are matched to them by
    name (a class the model does not know is a ShapeError); otherwise the dataset's names
    are used. ``top_k``, ``worst`` and ``bins`` are as for
    :func:`~cnnkit.evaluation.metrics_from_predictions`; ``progress`` shows a bar on a
    terminal; ``tta="flip"`` averages each image's and its mirror's probabilities.
    """
    class_names = model.class_names or dataset.class_names
    dataset = align_classes(dataset, class_names)
    accumulator = Accumulator(class_names, top_k, worst, bins)
    with progress_bar(len(dataset), "evaluating", progress) as bar:
        for start in range(0, len(dataset), batch_size):
            stop = min(start + batch_size, len(dataset))
            probabilities = class_probabilities(
                model, model.predict(dataset.images[start:stop], batch_size=batch_size,
                                     **({"tta": tta} if tta else {})))
            paths = None if dataset.paths is None else dataset.paths[start:stop]
            accumulator.update(dataset.labels[start:stop], probabilities, paths)
            bar.update(stop - start)
    return accumulator.result()
