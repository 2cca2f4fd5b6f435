"""``keras.metrics``."""

from ..train.metrics import Metric, TopKCategoricalAccuracy, get

__all__ = ["Metric", "TopKCategoricalAccuracy", "get"]
