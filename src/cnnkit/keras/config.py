"""``keras.config``: the dtype policy under its Keras 3 names (see ``mixed_precision``)."""

from .mixed_precision import dtype_policy, set_dtype_policy

__all__ = ["dtype_policy", "set_dtype_policy"]
