"""Bad input never crashes a load: every broken file is skipped and counted by reason.

The trees hold real MNIST PNGs and CIFAR-10 JPEGs next to hand-made broken files. Each test
asserts the exact number of skips per reason, so a file skipped for the wrong reason, or
loaded when it should not be, fails it.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bad_tree import (
    COMMON_SKIPS,
    FOLDER_ONLY_SKIPS,
    bad_files,
    build_bad_tree,
    good_tree,
    write,
)
from cnnkit.data.tree import load_tree
from cnnkit.errors import BadImageError, DataError
from sample_images import (
    TEXT_AS_IMAGE,
    add_tar_bytes,
    bomb_png,
    cifar_jpegs,
    corrupt_png,
    mnist_pngs,
    tar_folder,
    truncated,
    zip_folder,
)

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

@pytest.fixture
def bad_tree(tmp_path) -> Path:
    return build_bad_tree(tmp_path / "data")


def only(datasets: dict) -> object:
    assert list(datasets) == ["train"]
    return datasets["train"]


def test_folder_skips_every_bad_file_by_reason(bad_tree):
    data = only(load_tree(bad_tree))
    assert data.report.skip_counts() == {**COMMON_SKIPS, **FOLDER_ONLY_SKIPS}
    assert data.class_names == ["plane", "zero"]
    assert data.class_counts() == {"plane": 5, "zero": 3}
    assert data.image_shape == (32, 32, 3)
    assert data.report.empty_classes == ["empty", "onlybad"]
    assert all(p.endswith((".jpg", ".png")) and "cut" not in p for p in data.paths)


def test_skips_name_the_file(bad_tree):
    skipped = {Path(s.path).relative_to(bad_tree).as_posix(): s.reason
               for s in only(load_tree(bad_tree)).report.skipped}
    assert skipped["zero/notes.png"] == "not_an_image"
    assert skipped["plane/bomb.png"] == "too_large"
    assert skipped["zero/self.png"] == "symlink_loop"
    assert skipped["plane/up"] == "symlink_loop"
    assert skipped["zero/dangling.png"] == "unreadable"
    assert skipped["zero/fifo.png"] == "not_regular_file"
    assert skipped["__MACOSX"] == "hidden"


@pytest.mark.parametrize("suffix, mode", [(".zip", None), (".tar", "w"), (".tar.gz", "w:gz")])
def test_archive_skips_like_the_folder(tmp_path, suffix, mode):
    folder = bad_files(good_tree(tmp_path / "data"))
    target = tmp_path / f"data{suffix}"
    archive = zip_folder(folder, target) if mode is None else tar_folder(folder, target, mode)
    shutil.rmtree(folder)  # read without extracting: nothing else to read from

    data = only(load_tree(archive))
    assert data.report.skip_counts() == COMMON_SKIPS
    assert data.class_counts() == {"plane": 5, "zero": 3}
    assert data.report.empty_classes == ["empty", "onlybad"]
    assert all(p.startswith(f"{archive}::") for p in data.paths)
    reference = only(load_tree(good_tree(tmp_path / "again"), cache=False))
    np.testing.assert_array_equal(data.images, reference.images)


def test_unsafe_archive_members_are_skipped_and_never_written(tmp_path):
    outside = tmp_path.parent
    before = set(outside.iterdir())
    escape = f"/cnnkit-escape-{uuid.uuid4().hex}"
    png = mnist_pngs(1)[0]
    unsafe = [f"{escape}/zero/evil.png", "../evil.png", "zero/../../evil.png", "..\\evil.png"]
    path = tmp_path / "unsafe.tar"
    with tarfile.open(path, "w") as archive:
        for name in unsafe:
            add_tar_bytes(archive, name, png)
        for i, data in enumerate(mnist_pngs(3)):
            add_tar_bytes(archive, f"zero/{i}.png", data)
            add_tar_bytes(archive, f"one/{i}.png", data)
        link = tarfile.TarInfo("zero/link.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
        hard = tarfile.TarInfo("one/hard.png")
        hard.type, hard.linkname = tarfile.LNKTYPE, "zero/0.png"
        archive.addfile(hard)
    with tarfile.open(path) as archive:
        assert archive.getnames()[:4] == unsafe  # the names really are stored as given

    data = only(load_tree(path))
    assert data.report.skip_counts() == {"unsafe_path": 4, "not_regular_file": 2}
    assert data.class_counts() == {"one": 3, "zero": 3}
    assert set(outside.iterdir()) == before
    assert not Path(escape).exists()
    assert not list(tmp_path.rglob("evil.png"))


def test_unsafe_zip_members_are_skipped(tmp_path):
    path = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("/abs/evil.png", "../evil.png", "a/../../evil.png"):
            archive.writestr(name, mnist_pngs(1)[0])
        for i, data in enumerate(mnist_pngs(2)):
            archive.writestr(f"zero/{i}.png", data)
            archive.writestr(f"one/{i}.png", data)
    assert zipfile.ZipFile(path).namelist()[0] == "/abs/evil.png"

    data = only(load_tree(path))
    assert data.report.skip_counts() == {"unsafe_path": 3}
    assert data.class_counts() == {"one": 2, "zero": 2}


def test_zip_symlink_member_is_not_followed(tmp_path):
    path = tmp_path / "links.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i, data in enumerate(mnist_pngs(2)):
            archive.writestr(f"zero/{i}.png", data)
            archive.writestr(f"one/{i}.png", data)
        link = zipfile.ZipInfo("one/link.png")
        link.external_attr = 0o120777 << 16  # how `zip --symlinks` stores a link
        archive.writestr(link, "../zero/0.png")

    data = only(load_tree(path))
    assert data.report.skip_counts() == {"not_regular_file": 1}


def set_zip_flag(path: Path, name: str, flag: int) -> None:
    """Set general-purpose ``flag`` bits in the central directory entry of member ``name``."""
    raw = bytearray(path.read_bytes())
    central = raw.find(b"PK\x01\x02")
    entry = raw.rfind(b"PK\x01\x02", central, raw.find(name.encode(), central))
    raw[entry + 8] |= flag  # the flags follow the signature and two version fields
    path.write_bytes(bytes(raw))


def test_damaged_zip_members_are_skipped(tmp_path):
    png = mnist_pngs(5)[4]
    path = tmp_path / "crc.zip"
    with zipfile.ZipFile(path, "w") as archive:  # stored: member bytes appear verbatim
        for i, data in enumerate(mnist_pngs(3)):
            archive.writestr(f"zero/{i}.png", data)
            archive.writestr(f"one/{i}.png", data)
        archive.writestr("one/bad-crc.png", png)
        archive.writestr("one/encrypted.png", png)
    raw = bytearray(path.read_bytes())
    raw[raw.find(png) + len(png) // 2] ^= 0xFF  # the first copy: bad-crc.png
    path.write_bytes(bytes(raw))
    set_zip_flag(path, "one/encrypted.png", 0x1)

    data = only(load_tree(path))
    assert data.report.skip_counts() == {"corrupt": 1, "unreadable": 1}
    assert data.class_counts() == {"one": 3, "zero": 3}


@pytest.mark.parametrize("name", ["broken.zip", "broken.tar.gz"])
def test_damaged_archive_is_a_data_error(tmp_path, name):
    folder = good_tree(tmp_path / "data")
    full = tmp_path / f"full-{name}"
    if name.endswith(".zip"):
        archive = zip_folder(folder, full)
    else:
        archive = tar_folder(folder, full, "w:gz")
    write(tmp_path / name, truncated(archive.read_bytes(), 0.5))
    with pytest.raises(DataError, match="cannot read the archive") as err:
        load_tree(tmp_path / name)
    assert err.value.hint


def test_single_class_needs_a_hint(tmp_path):
    root = tmp_path / "data"
    for i, data in enumerate(mnist_pngs(3)):
        write(root / "zero" / f"{i}.png", data)
    (root / "nothing").mkdir()
    with pytest.raises(DataError, match="found 1 class") as err:
        load_tree(root)
    assert "own folder" in err.value.hint
    assert only(load_tree(root, min_classes=1)).class_counts() == {"zero": 3}


def test_huge_file_is_skipped_without_reading_it(tmp_path, monkeypatch):
    from cnnkit.data import decode, parallel

    root = good_tree(tmp_path / "data")
    huge = root / "zero" / "huge.png"
    with open(huge, "wb") as f:  # sparse: takes no disk space
        f.truncate(decode.MAX_FILE_BYTES + 1)
    real_read = parallel.read_payload

    def read(payload):
        assert payload != str(huge), "the huge file was read into memory"
        return real_read(payload)

    monkeypatch.setattr(parallel, "read_payload", read)  # forked workers inherit the patch
    data = only(load_tree(root))
    assert data.report.skip_counts() == {"too_large": 1}


BAD_ONE = {
    "corrupt.png": (lambda: corrupt_png(mnist_pngs(1)[0]), "corrupt"),
    "cut.png": (lambda: truncated(mnist_pngs(1)[0]), "corrupt"),
    "empty.png": (lambda: b"", "empty_file"),
    "notes.png": (lambda: TEXT_AS_IMAGE, "not_an_image"),
    "bomb.png": (bomb_png, "too_large"),
    "readme.txt": (lambda: b"notes", "not_image_extension"),
}


@pytest.mark.parametrize("name", sorted(BAD_ONE))
def test_strict_mode_stops_at_the_bad_file(tmp_path, name):
    make, reason = BAD_ONE[name]
    root = good_tree(tmp_path / "data")
    write(root / ".DS_Store", b"\0")  # hidden system files are not bad images
    bad = write(root / "zero" / name, make())
    with pytest.raises(BadImageError) as err:
        load_tree(root, strict=True)
    assert (err.value.path, err.value.reason) == (str(bad), reason)
    assert name in str(err.value) and err.value.hint


@pytest.mark.parametrize("kind", ["symlink_loop", "unreadable", "not_regular_file"])
def test_strict_mode_stops_at_links_and_special_files(tmp_path, kind):
    root = good_tree(tmp_path / "data")
    bad = root / "zero" / "odd.png"
    if kind == "symlink_loop":
        bad.symlink_to("odd.png")
    elif kind == "unreadable":
        bad.symlink_to("missing.png")
    else:
        os.mkfifo(bad)
    with pytest.raises(BadImageError) as err:
        load_tree(root, strict=True)
    assert (err.value.path, err.value.reason) == (str(bad), kind)


def test_strict_mode_is_not_bypassed_by_the_cache(tmp_path):
    root = good_tree(tmp_path / "data")
    write(root / "zero" / "notes.png", TEXT_AS_IMAGE)
    assert only(load_tree(root)).report.skip_counts() == {"not_an_image": 1}
    with pytest.raises(BadImageError, match=r"notes\.png"):
        load_tree(root, strict=True)


def test_strict_mode_stops_at_unsafe_archive_member(tmp_path):
    path = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i, data in enumerate(mnist_pngs(2)):
            archive.writestr(f"zero/{i}.png", data)
            archive.writestr(f"one/{i}.png", data)
        archive.writestr("../evil.png", mnist_pngs(1)[0])
    with pytest.raises(BadImageError) as err:
        load_tree(path, strict=True)
    assert (err.value.path, err.value.reason) == (f"{path}::../evil.png", "unsafe_path")


@pytest.mark.skipif(IS_ROOT, reason="running as root: chmod 000 does not stop root from "
                    "reading, so no honest unreadable file can be made; the dangling link "
                    "in the bad tree covers 'unreadable'")
def test_file_without_read_permission_is_unreadable(tmp_path):
    root = good_tree(tmp_path / "data")
    locked = write(root / "zero" / "locked.png", mnist_pngs(1)[0])
    locked.chmod(0)
    try:
        data = only(load_tree(root))
    finally:
        locked.chmod(0o644)
    assert data.report.skip_counts() == {"unreadable": 1}


def test_nothing_decodable_is_a_data_error(tmp_path):
    root = tmp_path / "data"
    write(root / "zero" / "cut.png", truncated(mnist_pngs(1)[0]))
    write(root / "plane" / "cut.jpg", truncated(cifar_jpegs(1)[0]))
    with pytest.raises(DataError, match="no image could be decoded") as err:
        load_tree(root)
    assert "corrupt" in err.value.hint
