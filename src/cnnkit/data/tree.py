"""Folder-per-class trees, on disk or inside .zip/.tar archives.

Layouts understood (any letter case in extensions; one shared top folder is skipped)::

    root/<class>/<image>                       one split, called "train"
    root/<train|val|valid|validation|test>/<class>/<image>

Images may sit in sub-folders below their class folder. Class names are the sorted union
over all splits of the class folders that hold at least one usable image.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError
from .build import Labelled, build_entry, datasets_from_entry, datasets_from_scratch
from .cache import building, entry_dir, fingerprint_digest, matching_entry, read_entry
from .dataset import ImageDataset
from .decode import has_image_extension
from .engine import check_strict, probe_members, record_problem
from .report import LoadReport
from .sources import Member, is_archive, scan_folder, scan_tar, scan_zip

SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                 "validation": "val", "test": "test", "testing": "test"}


def load_tree(path: Path, image_size=None, channels: int | None = None, strict: bool = False,
              cache: bool = True, progress: bool = True, min_classes: int = 2
              ) -> dict[str, ImageDataset]:
    """Load a folder-per-class tree (folder or archive) as one dataset per split."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist", hint="check the path")
    kind = "folder" if path.is_dir() else _archive_kind(path)
    options = {"image_size": image_size, "channels": channels}
    st = path.stat()
    archive_files = [[str(path.resolve()), st.st_size, st.st_mtime_ns]]
    directory = entry_dir(path, kind, options) if cache else None
    # Checked against the cache without holding the listing (a row per file) in memory.
    digest = fingerprint_digest(map(_file_row, scan_folder(path)) if kind == "folder"
                                else archive_files)
    if directory is not None and (found := matching_entry(path, kind, options, digest)):
        datasets = datasets_from_entry(*found, name=path.name)
        if strict:
            check_strict(next(iter(datasets.values())).report)
        _check_classes(datasets, path, min_classes)
        return datasets

    listing = list(scan_folder(path)) if kind == "folder" else None
    files = archive_files if listing is None else [_file_row(m) for m in listing]
    digest = fingerprint_digest(files)  # of the listing decoded: it may have just changed
    report = LoadReport()
    with building(directory) as scratch:
        members = listing if listing is not None else scan_archive(path, kind, with_bytes=True)
        items, class_names = _label(path, _probe(members, report, strict, progress),
                                    report, strict)
        restream = None
        if kind == "tar":
            def restream() -> Iterator[tuple[str, bytes]]:
                for m in scan_tar(path, with_bytes=True):
                    if isinstance(m.payload, bytes):
                        yield m.display, m.payload
        build_entry(scratch, items, class_names, image_size, channels, report, strict,
                    progress, restream, prune_classes=True,
                    extra={"digest": digest, "source": str(path.resolve()), "kind": kind,
                           "options": options, "files": files})
        datasets = datasets_from_scratch(scratch, digest, path.name, directory is None)
    if directory is not None and (found := read_entry(directory, digest)):
        datasets = datasets_from_entry(*found, name=path.name)  # the published entry
    _check_classes(datasets, path, min_classes)
    return datasets


def _file_row(member: Member) -> list:
    """A folder member's fingerprint row: relative path, size, mtime."""
    return ["/".join(member.parts), member.size, member.mtime_ns]


def _archive_kind(path: Path) -> str:
    if not is_archive(path):
        raise DataError(f"{path} is neither a folder nor a .zip/.tar/.tar.gz archive",
                        hint="pass a folder of class folders, an archive of one, a CSV list, "
                             "an IDX file, a .npz file or a built-in dataset name")
    return "zip" if path.name.lower().endswith(".zip") else "tar"


def scan_archive(path: Path, kind: str, with_bytes: bool) -> Iterator[Member]:
    """The members of the zip or tar archive at ``path`` (their bytes with ``with_bytes``)."""
    import tarfile
    import zipfile

    try:
        if kind == "zip":
            yield from scan_zip(path)
        else:
            yield from scan_tar(path, with_bytes=with_bytes)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{path}: cannot read the archive ({type(exc).__name__}: {exc})",
                        hint="the archive is damaged or incomplete; download or create it again"
                        ) from exc


def _probe(members, report: LoadReport, strict: bool, progress: bool):
    """Turn listing problems into skips and probe the rest; returns probed members and the
    class-level folders seen (for reporting empty classes)."""
    folders: list[tuple[str, ...]] = []

    def candidates() -> Iterator[Member]:
        for member in members:
            if member.problem == "directory":
                folders.append(member.parts)
            elif member.problem:
                record_problem(report, member.display, member.problem, member.detail, strict)
            elif not has_image_extension(member.parts[-1]):
                record_problem(report, member.display, "not_image_extension", "", strict)
            else:
                yield member

    probed = probe_members(candidates(), report, strict, progress)
    return probed, folders


def _label(path: Path, probed_and_folders, report: LoadReport, strict: bool
           ) -> tuple[list[Labelled], list[str]]:
    probed, folders = probed_and_folders
    all_parts = [p.member.parts for p in probed]
    prefix = _common_root(all_parts)
    root = all_parts[0][:prefix] if all_parts else ()
    tops = {parts[prefix] for parts in all_parts if len(parts) > prefix + 1}
    split_layout = bool(tops) and all(t.lower() in SPLIT_ALIASES for t in tops)
    depth = prefix + (2 if split_layout else 1)  # index of the class folder + 1
    items: list[Labelled] = []
    for p in probed:
        parts = p.member.parts
        if len(parts) <= depth:
            record_problem(report, p.member.display, "no_class_folder",
                           "images must sit inside a class folder", strict)
            continue
        split = SPLIT_ALIASES[parts[prefix].lower()] if split_layout else "train"
        items.append(Labelled(p, split, parts[depth - 1]))
    class_names = sorted({i.label for i in items})
    seen_classes = {f[depth - 1] for f in folders if len(f) == depth and f[:prefix] == root}
    report.empty_classes.extend(sorted(seen_classes - set(class_names)))
    if not items:
        raise DataError(f"{path}: no usable image in class folders",
                        hint=report.hint("expected root/<class>/<image> or "
                                         "root/<split>/<class>/<image>"))
    return items, class_names


def _common_root(all_parts: list[tuple[str, ...]]) -> int:
    """How many leading folders every image shares (a wrapper folder such as 'mnist-png/')."""
    depth = 0
    while all_parts and all(len(p) >= depth + 3 for p in all_parts):
        first = {p[depth] for p in all_parts}
        if len(first) != 1 or next(iter(first)).lower() in SPLIT_ALIASES:
            break
        depth += 1
    return depth


def _check_classes(datasets: dict[str, ImageDataset], path: Path, min_classes: int) -> None:
    names = next(iter(datasets.values())).class_names
    if len(names) < min_classes:
        raise DataError(
            f"{path}: found {len(names)} class ({', '.join(names)}); a classifier needs at "
            f"least {min_classes}",
            hint="put each class's images in its own folder: root/<class>/<image>")
