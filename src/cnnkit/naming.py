"""Suggest the closest valid name when the user misspells one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` did you mean 'relu'?`` for the closest valid name, or the list of valid names."""
    valid = sorted(set(valid))
    close = difflib.get_close_matches(str(name).lower(), [v.lower() for v in valid], n=1,
                                      cutoff=0.5)
    if close:
        match = next(v for v in valid if v.lower() == close[0])
        return f"did you mean {match!r}? (valid: {', '.join(valid)})"
    return f"valid names: {', '.join(valid)}"
