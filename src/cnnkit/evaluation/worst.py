"""The examples with the highest loss, kept in a bounded heap while batches stream past."""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Example:
    """One evaluated image: where it is, what it is, what the model said and the loss."""

    index: int
    path: str | None
    true: str
    predicted: str
    probability_predicted: float
    probability_true: float
    loss: float

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


class WorstExamples:
    """Keeps the ``limit`` examples with the highest loss seen so far (on equal loss the
    earlier index wins), never more than ``limit`` in memory."""

    def __init__(self, limit: int):
        self.limit = int(limit)
        self._heap: list[tuple[float, int, Example]] = []  # min-heap on (loss, -index)

    def add(self, first_index: int, losses: np.ndarray, labels: np.ndarray,
            probabilities: np.ndarray, class_names: list[str],
            paths: list[str] | None = None) -> None:
        """Offer one batch whose samples are numbered from ``first_index``."""
        if self.limit <= 0 or not len(losses):
            return
        # only the batch's own worst can enter the heap: highest loss, then lowest index
        candidates = np.lexsort((np.arange(len(losses)), -losses))[:self.limit]
        predicted = probabilities.argmax(axis=1)
        for i in candidates.tolist():
            index = first_index + i
            key = (float(losses[i]), -index)
            if len(self._heap) == self.limit and key <= self._heap[0][:2]:
                continue
            example = Example(
                index, None if paths is None else paths[i], class_names[labels[i]],
                class_names[predicted[i]], float(probabilities[i, predicted[i]]),
                float(probabilities[i, labels[i]]), float(losses[i]))
            item = (*key, example)
            if len(self._heap) < self.limit:
                heapq.heappush(self._heap, item)
            else:
                heapq.heapreplace(self._heap, item)

    def examples(self) -> list[Example]:
        """The kept examples, highest loss first."""
        return [item[2] for item in sorted(self._heap, key=lambda t: t[:2], reverse=True)]
