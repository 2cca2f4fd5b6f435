"""Progress bars that appear only for people: on a terminal, and not when asked to be quiet."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(total: int | None, desc: str, enabled: bool = True, unit: str = "img"):
    """A tqdm bar, disabled when ``enabled`` is false or stderr is not a terminal."""
    show = enabled and sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, disable=not show, leave=False,
                dynamic_ncols=True, unit_scale=True)
