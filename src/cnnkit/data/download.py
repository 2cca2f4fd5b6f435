"""Download one file over HTTP(S), verified by SHA-256, never leaving a partial file behind.

The bytes go to a temporary file next to the destination and are hashed on the way; the
file is renamed to its final name only when the hash matches. Anything else (network
failure, truncated transfer, wrong hash) removes the temporary file and raises
:class:`DataError` saying which URL failed and how to place the file by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from .progress import progress_bar

CHUNK = 1024 * 1024
USER_AGENT = "cnnkit (+https://pypi.org/project/cnnkit/)"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str | Sequence[str] | None, *, progress: bool = True,
             timeout: float = 60.0) -> Path:
    """Fetch ``url`` into ``dest`` and return ``dest``.

    ``sha256`` is the expected hex digest, or several accepted digests (the same data
    published in more than one packaging); ``None`` skips the check. A digest may be
    given by its first hex digits only (torchvision's weight files carry 8-10 in their
    names): the download must start with them. The folder of ``dest``
    is created when missing. An existing ``dest`` is replaced only by a verified download.
    """
    dest = Path(dest)
    accepted = [sha256] if isinstance(sha256, str) else list(sha256 or [])
    accepted = [h.lower() for h in accepted]
    if "" in accepted:
        raise ValueError("an empty SHA-256 prefix would accept any file")
    manual = (f"download {url} yourself (browser, curl or wget), check it with `sha256sum`, "
              f"and place it at {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        digest, size, expected_size = _fetch(url, tmp, progress, timeout, manual)
        if expected_size is not None and size != expected_size:
            raise DataError(f"download of {url} stopped after {size:,} of {expected_size:,} "
                            "bytes", hint=f"try again, or {manual}")
        actual = digest.hexdigest()
        if accepted and not any(actual.startswith(h) for h in accepted):
            raise DataError(
                f"{url}: SHA-256 mismatch: expected {' or '.join(accepted)}"
                f"{'' if all(len(h) == 64 for h in accepted) else ' (a prefix)'}, got {actual}",
                hint=f"the file was damaged in transit or the server sent a different file; "
                     f"try again, or {manual}")
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return dest


def _fetch(url: str, tmp: Path, progress: bool, timeout: float, manual: str):
    """Stream ``url`` into ``tmp``; returns the running hash, bytes received and the length
    the server announced (None when it did not)."""
    digest = hashlib.sha256()
    size = 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            expected_size = int(length) if length and length.isdigit() else None
            name = url.rstrip("/").rsplit("/", 1)[-1]
            with tmp.open("wb") as out, progress_bar(expected_size, name, progress,
                                                     unit="B") as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise DataError(f"could not download {url}: HTTP {exc.code} {exc.reason}",
                        hint=f"the file may have moved; {manual}") from exc
    except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException,
            ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"could not download {url}: {reason}",
                        hint=f"check the network connection (and any proxy), or {manual}"
                        ) from exc
    except OSError as exc:
        raise DataError(f"could not write {tmp} while downloading {url}: {exc}",
                        hint="check free disk space and permissions, or set CNNKIT_CACHE to "
                             "another folder") from exc
    return digest, size, expected_size
