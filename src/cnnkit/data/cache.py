"""The decode-once cache: decoded uint8 arrays on disk, memory-mapped on the next load.

An entry is a folder ``<cache>/decoded/<name>-<key>/`` holding ``images.npy`` (memory-
mappable), ``labels.npy``, ``sizes.npy`` (original sizes), ``manifest.json`` and, for file
sources, ``files.json``. The manifest records the digest of the source's fingerprint, the
load options, the class names and the load report; ``files.json`` the source files with
their sizes and mtimes (for people: a load never reads it, so a large listing costs no
memory on the next load). An entry is used only when the source's fingerprint still matches.

Entries are built in a temporary folder and renamed into place, so a crash mid-decode never
leaves a half-written entry that a later load would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

CACHE_VERSION = 1


def cache_root() -> Path:
    """``$CNNKIT_CACHE`` if set, else ``~/.cache/cnnkit``."""
    return Path(os.environ.get("CNNKIT_CACHE") or "~/.cache/cnnkit").expanduser()


def fingerprint_digest(files: Iterable[list]) -> str:
    """A digest of ``[path, size, mtime_ns]`` rows, for comparing two listings: the SHA-256
    of their compact JSON list, hashed row by row (a generator's rows are never held)."""
    digest = hashlib.sha256(b"[")
    for index, row in enumerate(files):
        digest.update((b"," if index else b"") + json.dumps(row, separators=(",", ":")).encode())
    digest.update(b"]")
    return digest.hexdigest()


def entry_dir(source: Path, kind: str, options: dict) -> Path:
    """Where the cache entry for this source and these load options lives."""
    key_text = json.dumps({"source": str(source.resolve()), "kind": kind, "options": options,
                           "version": CACHE_VERSION}, sort_keys=True)
    key = hashlib.sha256(key_text.encode()).hexdigest()[:16]
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in source.name)[:40]
    return cache_root() / "decoded" / f"{stem}-{key}"


def read_entry(directory: Path, digest: str) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The manifest and memory-mapped arrays of a valid entry, or None when stale or absent."""
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("version") != CACHE_VERSION or manifest.get("digest") != digest:
        return None
    try:
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                  for name in manifest["arrays"]}
    except (OSError, ValueError, KeyError):
        return None
    return manifest, arrays


DEFAULT_OPTIONS = {"image_size": None, "channels": None}


def matching_entry(source: Path, kind: str, options: dict, digest: str
                   ) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The valid entry for these load options; failing that, the entry decoded with the
    default options when its images already have the size and channels asked for: the same
    decode (a model's 32x32x3 input over CIFAR's 32x32 RGB photos), not a second one."""
    found = read_entry(entry_dir(source, kind, options), digest)
    if found is not None or options == DEFAULT_OPTIONS:
        return found
    natural = read_entry(entry_dir(source, kind, DEFAULT_OPTIONS), digest)
    if natural is None:
        return None
    height, width, channels = natural[1]["images"].shape[1:]
    size = options["image_size"]
    size = (size, size) if isinstance(size, int) else size
    if (size is None or tuple(size) == (height, width)) and options["channels"] in (None,
                                                                                   channels):
        return natural
    return None


@contextlib.contextmanager
def building(directory: Path | None) -> Iterator[Path]:
    """A scratch folder to build an entry in; published to ``directory`` on success.

    With ``directory=None`` (caching off) the scratch folder lives in the system temp
    folder and is the caller's to read before the context ends.
    """
    if directory is None:
        scratch = Path(tempfile.mkdtemp(prefix="cnnkit-decode-"))
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = directory.with_name(f"{directory.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    scratch.mkdir()
    try:
        yield scratch
        publish(scratch, directory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def publish(scratch: Path, directory: Path) -> None:
    """Swap a finished scratch folder into place, replacing a stale entry."""
    if directory.exists():
        stale = directory.with_name(f"{directory.name}.stale-{uuid.uuid4().hex[:8]}")
        with contextlib.suppress(OSError):
            os.rename(directory, stale)
            shutil.rmtree(stale, ignore_errors=True)
    # If this fails, another process published the same entry first; theirs is as good.
    with contextlib.suppress(OSError):
        os.rename(scratch, directory)


def write_manifest(scratch: Path, manifest: dict) -> None:
    """Write the manifest last: an entry without one is never read."""
    manifest = {"version": CACHE_VERSION, **manifest}
    tmp = scratch / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest))
    os.replace(tmp, scratch / "manifest.json")
