"""``keras.backend``: ``clear_session`` restarts automatic layer names."""

from ..layers import reset_name_counters


def clear_session() -> None:
    """Restart automatic names (``conv2d``, ``dense``, ...) as Keras does."""
    reset_name_counters()


__all__ = ["clear_session"]
