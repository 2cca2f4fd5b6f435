"""``keras.losses``."""

from ..train.losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Loss,
    SparseCategoricalCrossentropy,
    get,
)

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Loss",
           "SparseCategoricalCrossentropy", "get"]
