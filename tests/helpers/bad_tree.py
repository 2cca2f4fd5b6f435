"""A folder of real images mixed with one of every kind of broken file (see the data tests).

``plane/`` holds real CIFAR-10 JPEGs, ``zero/`` real MNIST PNGs; ``bad_files`` and
``folder_only_files`` add the broken files, links and special files, and the two dicts give
the exact number of skips each reason must count.
"""

from __future__ import annotations

import os
from pathlib import Path

from sample_images import TEXT_AS_IMAGE, bomb_png, cifar_jpegs, corrupt_png, mnist_pngs, truncated

# Skips that every form of the bad tree (folder or archive) produces.
COMMON_SKIPS = {
    "hidden": 4,  # .DS_Store twice, Thumbs.db, the __MACOSX folder (counted once)
    "corrupt": 4,  # garbage pixel data, two truncated files, a class's only (truncated) file
    "empty_file": 1,
    "not_an_image": 1,
    "too_large": 1,
    "not_image_extension": 1,
    "no_class_folder": 1,
}
# Skips only a folder on disk can produce: links, loops and special files.
FOLDER_ONLY_SKIPS = {"symlink_loop": 2, "unreadable": 1, "not_regular_file": 1}


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def good_tree(root: Path, planes: int = 5, zeros: int = 3) -> Path:
    """``plane/`` with real CIFAR JPEGs and ``zero/`` with real MNIST PNGs."""
    for i, data in enumerate(cifar_jpegs(planes)):
        write(root / "plane" / f"{i}.jpg", data)
    for i, data in enumerate(mnist_pngs(zeros)):
        write(root / "zero" / f"{i}.png", data)
    return root


def bad_files(root: Path) -> Path:
    """Add one of every kind of broken file that an archive can hold (COMMON_SKIPS)."""
    png, jpeg = mnist_pngs(1)[0], cifar_jpegs(1)[0]
    write(root / ".DS_Store", b"\0\0\0\1Bud1")
    write(root / "__MACOSX" / "._stray.png", b"\0\5\26\7 resource fork")
    write(root / "__MACOSX" / "zero" / "._0.png", b"\0\5\26\7 resource fork")
    write(root / "plane" / ".DS_Store", b"\0\0\0\1Bud1")
    write(root / "zero" / "Thumbs.db", b"\xd0\xcf\x11\xe0")
    write(root / "stray.png", png)
    (root / "empty").mkdir()
    write(root / "onlybad" / "cut.jpg", truncated(jpeg))
    write(root / "plane" / "corrupt.png", corrupt_png(png))
    write(root / "plane" / "cut.jpg", truncated(jpeg))
    write(root / "plane" / "bomb.png", bomb_png())
    write(root / "zero" / "cut.png", truncated(png))
    write(root / "zero" / "empty.png", b"")
    write(root / "zero" / "notes.png", TEXT_AS_IMAGE)
    write(root / "zero" / "readme.txt", b"digits drawn by hand")
    return root


def folder_only_files(root: Path) -> Path:
    """Add the links and special files only a folder can hold (FOLDER_ONLY_SKIPS)."""
    (root / "plane" / "up").symlink_to("..", target_is_directory=True)
    (root / "zero" / "self.png").symlink_to("self.png")
    (root / "zero" / "dangling.png").symlink_to("gone.png")
    os.mkfifo(root / "zero" / "fifo.png")
    return root


def build_bad_tree(root: Path) -> Path:
    """The full bad tree (folder form) under ``root``."""
    return folder_only_files(bad_files(good_tree(root)))
