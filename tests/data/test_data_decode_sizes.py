"""Photos of any size fit any target: the crop box of ``decode`` never leaves the image by a
rounding error, so no valid photo is skipped as corrupt ("box offset can't be negative")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import ImageDataset
from cnnkit.data.arrays import conform
from cnnkit.data.decode import crop_box, decode, fit_to_size
from cnnkit.data.tree import load_tree
from sample_images import cifar_jpegs, encode, pixels

TARGETS = ((32, 32), (64, 64), (224, 224), (120, 160))  # (height, width); 160x120 is wide
PRIMES = [p for p in range(2, 641) if all(p % d for d in range(2, int(p ** 0.5) + 1))]
# every size up to 40, every prime and every other odd size up to 640, and common photo sides
SIZES = sorted({*range(1, 41), *PRIMES, *range(41, 641, 4), 375, 499, 500, 640})
# sides that cover the cases with rounding trouble (wide, tall, square, tiny, prime)
PHOTO_SIDES = (1, 2, 3, 7, 13, 18, 19, 49, 55, 97, 127, 211, 375, 499, 631, 640)


def real_photo(width: int, height: int, i: int = 0) -> Image.Image:
    """A real CIFAR-10 photo scaled to ``width`` x ``height``."""
    return Image.fromarray(pixels(cifar_jpegs(i + 1)[i])).resize((width, height))


def test_the_crop_box_lies_inside_every_image_size():
    assert len(SIZES) > 240
    for height, width in TARGETS:
        for src_w in SIZES:
            for src_h in SIZES:
                left, top, right, bottom = crop_box(src_w, src_h, height, width)
                assert 0.0 <= left < right <= src_w and 0.0 <= top < bottom <= src_h
                assert (left, right) == (0.0, src_w) or (top, bottom) == (0.0, src_h)
                assert math.isclose((right - left) * height, (bottom - top) * width,
                                    rel_tol=1e-12)


def test_real_photos_of_every_shape_fit_every_target():
    for src_w in PHOTO_SIDES:
        for src_h in PHOTO_SIDES:
            image = real_photo(src_w, src_h)
            for height, width in TARGETS:
                assert fit_to_size(image, height, width).size == (width, height)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("size", [(499, 375), (375, 499), (49, 49), (55, 55), (18, 13)])
def test_photo_files_decode_to_every_target(fmt, size):
    data = encode(real_photo(*size), fmt)
    for height, width in TARGETS:
        assert decode(data, height, width, 3).shape == (height, width, 3)


def test_a_folder_of_mixed_sizes_loads_without_a_skip(tmp_path: Path):
    sizes = [(499, 375), (375, 499), (49, 49), (55, 57), (211, 13), (631, 127)]
    for label in ("cat", "dog"):
        folder = tmp_path / "photos" / label
        folder.mkdir(parents=True)
        for i, size in enumerate(sizes):
            real_photo(*size, i=i).save(folder / f"{i}.jpg")
    for size in (32, 64, 224, (120, 160)):
        dataset = load_tree(tmp_path / "photos", image_size=size, progress=False)["train"]
        assert dataset.report.skipped == [] and len(dataset) == 2 * len(sizes)


def test_arrays_of_awkward_sizes_conform_to_every_target():
    """Arrays (IDX, .npz, built-ins) are resized by the same crop as files."""
    for size in ((49, 49), (55, 55), (18, 13)):
        photos = np.stack([np.asarray(real_photo(*size, i=i)) for i in range(3)])
        dataset = ImageDataset(photos, np.array([0, 1, 0]), ["a", "b"])
        for target in TARGETS:
            assert conform(dataset, target, None).image_shape == (*target, 3)
