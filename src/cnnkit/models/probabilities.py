"""One probability per class from whatever a model outputs."""

from __future__ import annotations

import numpy as np


def binary_columns(probabilities: np.ndarray) -> np.ndarray:
    """A single sigmoid column ``p`` becomes ``[1 - p, p]``; other shapes pass unchanged."""
    if probabilities.ndim == 2 and probabilities.shape[1] == 1:
        return np.concatenate([1.0 - probabilities, probabilities], axis=1)
    return probabilities


def class_probabilities(model, outputs: np.ndarray) -> np.ndarray:
    """Probabilities per class from ``model.predict`` outputs.

    A model that ends without a softmax or sigmoid (trained with ``from_logits=True``)
    outputs logits, as Keras's does: they go through a softmax (a sigmoid for one unit)
    here. A single sigmoid unit gives two columns. Anything else with a ``predict`` (no
    ``final_activation``) is taken to output probabilities.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if getattr(model, "final_activation", "softmax") in (None, "linear"):
        if outputs.shape[1] == 1:
            outputs = 1.0 / (1.0 + np.exp(-outputs))
        else:
            shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs = shifted / shifted.sum(axis=1, keepdims=True)
    return binary_columns(outputs)
