"""CSV and TSV lists of images: one ``path,label`` row per image, an optional ``split`` column.

- The delimiter is sniffed (``,`` ``;`` tab ``|``); ``.tsv`` files use tabs.
- The first row is a header when a cell names a column (``path``, ``file``, ``label``,
  ``class``, ``split``...) or when its path cell is neither an existing file nor an image
  file name. With a header, columns are found by name; without one they are taken in the
  order path, label, split.
- Paths are relative to the CSV's folder (absolute paths are used as they are).
- Rows naming missing files are skipped as ``missing_file``; an empty label, or a label not
  in ``classes=`` when given, as ``unknown_label``; rows with the wrong number of cells or an
  unknown split as ``bad_row``.

Images are decoded on every core and cached exactly like folder trees; the cache entry is
keyed on the CSV and the size and mtime of every listed file.
"""

from __future__ import annotations

import csv
import re
import stat
from pathlib import Path

from ..errors import DataError
from .build import Labelled, build_entry, datasets_from_entry, datasets_from_scratch
from .cache import building, entry_dir, fingerprint_digest, read_entry
from .dataset import ImageDataset
from .decode import has_image_extension
from .engine import check_strict, probe_members, record_problem
from .report import LoadReport
from .sources import Member
from .tree import SPLIT_ALIASES

PATH_COLUMNS = ("path", "file", "filename", "file_name", "filepath", "file_path", "image",
                "image_path", "img", "image_id", "name")
LABEL_COLUMNS = ("label", "class", "class_name", "category", "target", "y", "labels")
SPLIT_COLUMNS = ("split", "subset", "set", "fold")


def load_csv(path: Path, image_size=None, channels: int | None = None, strict: bool = False,
             cache: bool = True, progress: bool = True, classes: list[str] | None = None
             ) -> dict[str, ImageDataset]:
    """Load the images a CSV/TSV file lists, as one dataset per split (``train`` when the
    list has no split column)."""
    path = Path(path)
    rows, delimiter = _read_rows(path)
    report = LoadReport()
    members, listed = _members(path, rows, report, strict, classes)
    st = path.stat()
    files = [[str(path.resolve()), st.st_size, st.st_mtime_ns], *listed]
    digest = fingerprint_digest(files)
    options = {"image_size": image_size, "channels": channels, "classes": classes,
               "delimiter": delimiter}
    directory = entry_dir(path, "csv", options) if cache else None
    if directory is not None and (found := read_entry(directory, digest)):
        datasets = datasets_from_entry(*found, name=path.name)
        if strict:
            check_strict(next(iter(datasets.values())).report)
        return datasets

    label_of = {id(m): (split, label) for m, split, label in members}
    probed = probe_members((m for m, _, _ in members), report, strict, progress,
                           total=len(members))
    items = [Labelled(p, *label_of[id(p.member)]) for p in probed]
    if not items:
        raise DataError(f"{path}: no usable image listed",
                        hint="check the paths (relative to the CSV's folder) and the skip "
                             "summary:\n" + "\n".join(report.summary_lines()))
    class_names = list(classes) if classes else _sorted_labels({i.label for i in items})
    with building(directory) as scratch:
        build_entry(scratch, items, class_names, image_size, channels, report, strict,
                    progress, None, prune_classes=not classes,
                    extra={"digest": digest, "source": str(path.resolve()), "kind": "csv",
                           "options": options, "files": files})
        datasets = datasets_from_scratch(scratch, digest, path.name, directory is None)
    if directory is not None and (found := read_entry(directory, digest)):
        datasets = datasets_from_entry(*found, name=path.name)  # the published entry
    return datasets


def _read_rows(path: Path) -> tuple[list[list[str]], str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DataError(f"{path} does not exist", hint="check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the list ({exc})",
                        hint="save the list as UTF-8 text") from exc
    if path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    rows = [row for row in csv.reader(text.splitlines(), delimiter=delimiter)
            if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: the list is empty",
                        hint="write one 'path,label' row per image")
    return rows, delimiter


def _columns(header: list[str] | None, width: int) -> tuple[int, int, int | None]:
    """Indexes of the path, label and split columns."""
    if header is None:
        return 0, 1, (2 if width >= 3 else None)
    names = [cell.strip().lower() for cell in header]

    def find(candidates: tuple[str, ...], default: int | None) -> int | None:
        return next((i for i, n in enumerate(names) if n in candidates), default)

    path_col = find(PATH_COLUMNS, 0)
    label_col = find(LABEL_COLUMNS, 1 if path_col != 1 else 0)
    return path_col, label_col, find(SPLIT_COLUMNS, None)  # type: ignore[return-value]


def _is_header(row: list[str], folder: Path) -> bool:
    cells = [cell.strip().lower() for cell in row]
    if any(c in PATH_COLUMNS + LABEL_COLUMNS + SPLIT_COLUMNS for c in cells):
        return True
    first = row[0].strip()
    return not (folder / first).is_file() and not has_image_extension(first)


def _members(path: Path, rows: list[list[str]], report: LoadReport, strict: bool,
             classes: list[str] | None) -> tuple[list[tuple[Member, str, str]], list[list]]:
    """The listed files that exist, with their split and label, and the fingerprint rows of
    every listed file (missing ones too, so adding them later invalidates the cache)."""
    folder = path.resolve().parent
    header = rows[0] if _is_header(rows[0], folder) else None
    body = rows[1:] if header is not None else rows
    width = len(header) if header is not None else len(body[0]) if body else 2
    if width < 2:
        raise DataError(f"{path}: rows need at least two cells, path and label",
                        hint="write one 'path,label' row per image")
    path_col, label_col, split_col = _columns(header, width)
    known = set(classes) if classes else None
    members: list[tuple[Member, str, str]] = []
    listed: list[list] = []
    first_line = 2 if header is not None else 1
    for line, row in enumerate(body, start=first_line):
        where = f"{path}:{line}"
        if len(row) != width:
            record_problem(report, where, "bad_row",
                           f"{len(row)} cells where the list has {width}", strict)
            continue
        name, label = row[path_col].strip(), row[label_col].strip()
        split = "train"
        if split_col is not None:
            split = SPLIT_ALIASES.get(row[split_col].strip().lower(), "")
            if not split:
                record_problem(report, where, "bad_row",
                               f"unknown split {row[split_col].strip()!r} (use train, val or "
                               "test)", strict)
                continue
        file = folder / name
        try:
            st = file.stat()
        except OSError:
            st = None
        listed.append([str(file), st.st_size if st else -1, st.st_mtime_ns if st else 0])
        if not name or st is None:
            record_problem(report, str(file), "missing_file", f"listed at line {line}", strict)
        elif not stat.S_ISREG(st.st_mode):
            record_problem(report, str(file), "not_regular_file", f"listed at line {line}",
                           strict)
        elif not label or (known is not None and label not in known):
            record_problem(report, str(file), "unknown_label",
                           f"label {label!r} at line {line}" if label else
                           f"empty label at line {line}", strict)
        else:
            members.append((Member((name,), str(file), payload=str(file), size=st.st_size,
                                   mtime_ns=st.st_mtime_ns), split, label))
    return members, listed


def _sorted_labels(labels: set[str]) -> list[str]:
    """Label names in natural order: 2 before 10 when labels are numbers."""
    return sorted(labels, key=lambda s: [int(t) if t.isdigit() else t
                                         for t in re.split(r"(\d+)", s)])
