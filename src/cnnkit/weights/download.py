"""Published weight files, downloaded once into ``$CNNKIT_CACHE/weights``.

A file is fetched with a progress bar, checked against the SHA-256 prefix in its name
and only then renamed into place (``data/download.py``): a failed or tampered download
leaves nothing behind, and a file already in the cache is never deleted. A file placed
in the cache by hand is used when its hash matches. ``CNNKIT_WEIGHTS_URL`` points the
downloads at a mirror: a folder URL that holds the same file names.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..data.cache import cache_root
from ..data.download import download
from ..errors import DataError, WeightsError
from .files import check_hash_prefix, hash_prefix

MIRROR_VARIABLE = "CNNKIT_WEIGHTS_URL"


def weights_dir() -> Path:
    """Where downloaded and converted weights are kept: ``$CNNKIT_CACHE/weights``."""
    return cache_root() / "weights"


def fetch(url: str, *, progress: bool = True) -> Path:
    """The cached copy of the weight file at ``url``, downloaded first when missing."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    mirror = os.environ.get(MIRROR_VARIABLE)
    if mirror:
        url = mirror.rstrip("/") + "/" + name
    dest = weights_dir() / name
    prefix = hash_prefix(name)
    if dest.is_file():
        if prefix:
            check_hash_prefix(dest, prefix)
        return dest
    try:
        return download(url, dest, prefix, progress=progress)
    except DataError as exc:
        raise WeightsError(exc.message, hint=(exc.hint or "") + (
            f"; or set {MIRROR_VARIABLE} to a folder URL holding {name}, or pass "
            "weights='PATH/TO/FILE'")) from exc
