"""List the files of a folder tree or an archive, without trusting what they say.

A scanner yields :class:`Member` objects: a relative path split into parts, plus what a
worker needs to read the bytes (``payload``). Hidden files, symlink loops and unsafe archive
members are turned into skips here, before any byte is decoded. Nothing is ever extracted
to disk.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .decode import MAX_FILE_BYTES

HIDDEN_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx", "ehthumbs.db"})
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")

# What a worker is given to read one file: bytes already in memory, a file path, or
# ("zip", archive path, member name) for random access inside a zip file.
Payload = bytes | str | tuple[str, str, str]


@dataclass
class Member:
    """One file of a tree. ``problem`` is a skip reason found while listing, if any."""

    parts: tuple[str, ...]
    display: str
    payload: Payload | None = None
    size: int = 0
    mtime_ns: int = 0
    problem: str | None = None
    detail: str = ""


def is_archive(path: Path) -> bool:
    """True for .zip, .tar, .tar.gz/.tgz, .tar.bz2 and .tar.xz files."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def is_hidden(parts: tuple[str, ...]) -> bool:
    """Dot-files and folders, ``__MACOSX/``, ``Thumbs.db`` and similar system files."""
    return any(p.startswith(".") or p.lower() in HIDDEN_NAMES for p in parts)


def scan_folder(root: Path) -> Iterator[Member]:
    """Every file below ``root``, following symlinks but never into a loop."""
    root = root.resolve()
    seen_dirs: set[tuple[int, int]] = set()
    stack: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    while stack:
        directory, prefix = stack.pop()
        try:
            info = directory.stat()
        except OSError as exc:
            yield _folder_problem(root, prefix, exc)
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:
            yield Member(prefix, str(directory), problem="symlink_loop",
                         detail="folder link leads back to a folder already read")
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield _folder_problem(root, prefix, exc)
            continue
        subdirs = []
        for entry in entries:
            parts = (*prefix, entry.name)
            if is_hidden((entry.name,)):
                yield Member(parts, entry.path, problem="hidden")
                continue
            try:
                st = entry.stat()  # follows symlinks
            except OSError as exc:
                yield _folder_problem(root, parts, exc)
                continue
            if stat.S_ISDIR(st.st_mode):
                subdirs.append((Path(entry.path), parts))
                yield Member(parts, entry.path, problem="directory")
            elif stat.S_ISREG(st.st_mode) and st.st_size > MAX_FILE_BYTES:
                yield Member(parts, entry.path, size=st.st_size, mtime_ns=st.st_mtime_ns,
                             problem="too_large", detail=f"{st.st_size:,} bytes")
            elif stat.S_ISREG(st.st_mode):
                yield Member(parts, entry.path, payload=entry.path,
                             size=st.st_size, mtime_ns=st.st_mtime_ns)
            else:
                yield Member(parts, entry.path, problem="not_regular_file")
        stack.extend(reversed(subdirs))


def _folder_problem(root: Path, parts: tuple[str, ...], exc: OSError) -> Member:
    import errno

    path = str(root.joinpath(*parts))
    if exc.errno == errno.ELOOP:
        return Member(parts, path, problem="symlink_loop", detail=str(exc.strerror))
    if isinstance(exc, FileNotFoundError):
        return Member(parts, path, problem="unreadable", detail="broken symbolic link")
    return Member(parts, path, problem="unreadable", detail=str(exc.strerror or exc))


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """Split an archive member name; None when it is absolute or climbs with '..'."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if ".." in parts:
        return None
    return parts


def scan_zip(path: Path) -> Iterator[Member]:
    """Every member of a zip file; workers read members by name (random access)."""
    hidden_seen: set[tuple[str, ...]] = set()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            is_link = stat.S_ISLNK(info.external_attr >> 16)  # as `zip --symlinks` stores one
            member = _archive_member(
                path, info.filename, is_dir=info.is_dir(), is_file=not (info.is_dir() or is_link),
                size=info.file_size, payload=("zip", str(path), info.filename),
                hidden_seen=hidden_seen)
            if member is not None:
                yield member


def scan_tar(path: Path, with_bytes: bool) -> Iterator[Member]:
    """Every member of a tar file, streamed once from start to end.

    With ``with_bytes`` each regular file's content is read into ``payload``: compressed
    tar streams cannot be read out of order.
    """
    hidden_seen: set[tuple[str, ...]] = set()
    with tarfile.open(path, mode="r|*") as archive:
        for info in archive:
            member = _archive_member(path, info.name, is_dir=info.isdir(), is_file=info.isfile(),
                                     size=info.size, payload=None, hidden_seen=hidden_seen)
            if member is None:
                continue
            if member.problem is None and with_bytes:
                handle = archive.extractfile(info)
                member.payload = handle.read() if handle is not None else b""
            yield member


def _archive_member(archive: Path, name: str, *, is_dir: bool, is_file: bool, size: int,
                    payload: Payload | None, hidden_seen: set[tuple[str, ...]]
                    ) -> Member | None:
    """What one archive member is. A hidden folder is reported once, as by the folder scan:
    None for the members below one already reported (``hidden_seen``)."""
    display = f"{archive}::{name}"
    parts = _safe_parts(name)
    if parts is None:
        return Member((name,), display, problem="unsafe_path")
    if is_hidden(parts):
        top = next(i for i in range(len(parts)) if is_hidden(parts[i:i + 1]))
        hidden = parts[:top + 1]
        if hidden in hidden_seen:
            return None
        hidden_seen.add(hidden)
        return Member(hidden, f"{archive}::{'/'.join(hidden)}", problem="hidden")
    if is_dir:
        return Member(parts, display, problem="directory")
    if not is_file:
        return Member(parts, display, problem="not_regular_file")
    if size > MAX_FILE_BYTES:
        return Member(parts, display, problem="too_large", detail=f"{size:,} bytes")
    return Member(parts, display, payload=payload, size=size)


# Open zip files by path, with the (size, mtime) they had when opened.
_zip_handles: dict[str, tuple[tuple[int, int], zipfile.ZipFile]] = {}


def _open_zip(archive_path: str) -> zipfile.ZipFile:
    """A handle on the zip file, opened again when the file changed since the last read (a
    process that loads twice must not read a rewritten zip through its old directory)."""
    st = os.stat(archive_path)
    stamp = (st.st_size, st.st_mtime_ns)
    cached = _zip_handles.get(archive_path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    if cached is not None:
        cached[1].close()
    handle = zipfile.ZipFile(archive_path)
    _zip_handles[archive_path] = (stamp, handle)
    return handle


def read_payload(payload: Payload) -> bytes:
    """The bytes behind a payload; runs in worker processes."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, tuple):
        _, archive_path, name = payload
        return _open_zip(archive_path).read(name)
    with open(payload, "rb") as f:
        return f.read()
