"""``keras.mixed_precision``: the global dtype policy that new models train in.

``"float32"`` (the default, as in Keras) or ``"mixed_bfloat16"``: weights stay float32 and
the training steps run under bf16 autocast (train/precision.py). ``mixed_float16`` is a GPU
format and is refused with a hint.
"""

from __future__ import annotations

from ..train import precision


class DTypePolicy:
    """A dtype policy by name: ``DTypePolicy("mixed_bfloat16")``."""

    def __init__(self, name: str = "float32"):
        self.name = precision.check_policy(name)

    @property
    def compute_dtype(self) -> str:
        """The dtype the layers compute in."""
        return "bfloat16" if self.name == "mixed_bfloat16" else "float32"

    @property
    def variable_dtype(self) -> str:
        """The dtype the weights are kept in (always float32)."""
        return "float32"

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


Policy = DTypePolicy


def set_global_policy(policy: str | DTypePolicy | None) -> None:
    """Models made from now on train in this policy's precision (None: the default)."""
    precision.set_global_policy(policy.name if isinstance(policy, DTypePolicy) else policy)


def global_policy() -> DTypePolicy:
    """The policy new models get."""
    return DTypePolicy(precision.global_policy())


set_dtype_policy = set_global_policy
dtype_policy = global_policy

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]
