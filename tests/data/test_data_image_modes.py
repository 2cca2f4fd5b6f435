"""Images of every mode convert by the documented policy instead of being skipped.

Each variant is made from a real CIFAR-10 or MNIST image, and each test checks pixels, not
just that the load succeeded: transparency lands on white, EXIF rotation is applied, 16-bit
values are scaled, and odd sizes are scaled to cover and centre-cropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.data.decode import decode
from cnnkit.data.tree import load_tree
from sample_images import cifar_jpegs, encode, mnist_pngs, pixels

EXIF_ORIENTATION = 0x0112


def photo(i: int = 0) -> np.ndarray:
    """A real 32x32 RGB CIFAR photo."""
    return pixels(cifar_jpegs(i + 1)[i])


def digit(i: int = 0) -> np.ndarray:
    """A real 28x28 MNIST digit."""
    return pixels(mnist_pngs(i + 1)[i])


def gray_palette(gray: np.ndarray) -> Image.Image:
    image = Image.frombytes("P", (gray.shape[1], gray.shape[0]), gray.tobytes())
    image.putpalette([v for i in range(256) for v in (i, i, i)])
    return image


def half_transparent(channels: np.ndarray) -> np.ndarray:
    """An alpha channel: the left half transparent, the right half opaque."""
    alpha = np.full(channels.shape[:2], 255, np.uint8)
    alpha[:, : channels.shape[1] // 2] = 0
    return alpha


def exif_rotated_jpeg() -> bytes:
    """A 48x24 JPEG, top half black and bottom half white, tagged EXIF orientation 6 (shown
    turned 90 degrees clockwise: 24 wide, 48 tall, black on the right)."""
    stored = np.full((24, 48, 3), 255, np.uint8)
    stored[:12] = 0
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif)


def quadrants() -> np.ndarray:
    """32x32 RGB: red, green, blue and grey quarters."""
    image = np.zeros((32, 32, 3), np.uint8)
    image[:16, :16] = (220, 30, 30)
    image[:16, 16:] = (30, 200, 40)
    image[16:, :16] = (40, 40, 210)
    image[16:, 16:] = (128, 128, 128)
    return image


def write_all(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def by_name(dataset) -> dict[str, np.ndarray]:
    return {Path(p).name: image for p, image in zip(dataset.paths, dataset.images, strict=True)}


@pytest.fixture
def color_tree(tmp_path) -> Path:
    wide = np.zeros((32, 64, 3), np.uint8)
    wide[:, 16:48] = photo(1)
    gray = digit()
    gray32 = np.asarray(Image.fromarray(photo(2)).convert("L"))
    rgba = np.dstack([photo(3), half_transparent(photo(3))])
    palette = Image.fromarray(photo(4)).quantize(64)
    keyed = palette.copy()
    keyed.info["transparency"] = int(np.asarray(palette)[0, 0])
    files = {f"color/{i}.jpg": data for i, data in enumerate(cifar_jpegs(6))}
    files.update({f"gray/{i}.png": data for i, data in enumerate(mnist_pngs(3))})
    files.update({
        "color/palette.png": encode(palette),
        "color/palette_alpha.png": encode(keyed, transparency=keyed.info["transparency"]),
        "color/rgba.png": encode(Image.fromarray(rgba)),
        "color/la.png": encode(Image.fromarray(np.dstack([gray32, half_transparent(gray32)]))),
        "color/cmyk.jpg": encode(Image.fromarray(quadrants()).convert("CMYK"), "JPEG",
                                 quality=95),
        "color/gray16.png": encode(Image.fromarray(
            np.linspace(0, 65535, 32 * 32).astype(np.uint16).reshape(32, 32))),
        "color/rotated.jpg": exif_rotated_jpeg(),
        "color/wide.png": encode(Image.fromarray(wide)),
    })
    assert gray.shape == (28, 28)
    return write_all(tmp_path / "data", files)


@pytest.fixture
def color(color_tree):
    return load_tree(color_tree)["train"]


def test_every_mode_loads(color_tree, color):
    assert color.report.skip_counts() == {}
    assert color.class_counts() == {"color": 14, "gray": 3}
    assert color.image_shape == (32, 32, 3)  # the most common size; RGB as some are colour
    modes = {Path(p).name: m for p, m in zip(color.paths, color.original_modes, strict=True)}
    saved = {name: Image.open(color_tree / "color" / name).mode for name in (
        "palette.png", "palette_alpha.png", "rgba.png", "la.png", "cmyk.jpg", "gray16.png")}
    assert saved == {"palette.png": "P", "palette_alpha.png": "P", "rgba.png": "RGBA",
                     "la.png": "LA", "cmyk.jpg": "CMYK", "gray16.png": "I;16"}
    assert {name: modes[name] for name in saved} == saved


def test_palette_maps_to_its_colours(color_tree, color):
    expected = np.asarray(Image.open(color_tree / "color" / "palette.png").convert("RGB"))
    np.testing.assert_array_equal(by_name(color)["palette.png"], expected)


def test_transparent_pixels_land_on_white(color_tree, color):
    images = by_name(color)
    np.testing.assert_array_equal(images["rgba.png"][:, :16], 255)
    np.testing.assert_array_equal(images["rgba.png"][:, 16:], photo(3)[:, 16:])
    gray32 = np.asarray(Image.fromarray(photo(2)).convert("L"))
    np.testing.assert_array_equal(images["la.png"][:, :16], 255)
    np.testing.assert_array_equal(images["la.png"][:, 16:], np.dstack([gray32[:, 16:]] * 3))

    keyed = Image.open(color_tree / "color" / "palette_alpha.png")
    index = np.asarray(keyed)
    clear = index == keyed.info["transparency"]
    assert 0 < clear.sum() < clear.size
    got = images["palette_alpha.png"]
    np.testing.assert_array_equal(got[clear], 255)
    np.testing.assert_array_equal(got[~clear], np.asarray(keyed.convert("RGB"))[~clear])


def test_cmyk_jpeg_keeps_its_colours(color):
    got = by_name(color)["cmyk.jpg"].astype(int)
    want = quadrants().astype(int)
    for rows, cols in [(slice(2, 14), slice(2, 14)), (slice(2, 14), slice(18, 30)),
                       (slice(18, 30), slice(2, 14)), (slice(18, 30), slice(18, 30))]:
        assert np.abs(got[rows, cols] - want[rows, cols]).max() <= 12


def test_16_bit_gray_scales_to_8_bit(color):
    got = by_name(color)["gray16.png"]
    want = np.linspace(0, 65535, 32 * 32).astype(np.uint16).reshape(32, 32) // 257
    np.testing.assert_array_equal(got, np.dstack([want] * 3))


def test_exif_orientation_is_applied(color):
    got = by_name(color)["rotated.jpg"].astype(int)
    # Shown 24 wide and 48 tall, black on the right; scaled to cover 32x32, then cropped.
    assert got[:, :12].mean() > 240 and got[:, -12:].mean() < 15
    sizes = {Path(p).name: tuple(s) for p, s in zip(color.paths, color.original_sizes,
                                                    strict=True)}
    assert sizes["rotated.jpg"] == (48, 24)
    assert sizes["wide.png"] == (32, 64)
    assert sizes["0.png"] == (28, 28)


def test_other_sizes_cover_and_crop_the_centre(color):
    images = by_name(color)
    np.testing.assert_array_equal(images["wide.png"], photo(1))  # the centre 32 columns
    upscaled = images["0.png"]  # a 28x28 digit scaled to 32x32
    assert (upscaled[..., 0] == upscaled[..., 2]).all()
    expected = np.asarray(Image.fromarray(digit()).resize((32, 32), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(upscaled[..., 0], expected)


def test_gray_only_dataset_has_one_channel(tmp_path):
    gray = digit(1)
    root = write_all(tmp_path / "data", {
        "a/digit.png": mnist_pngs(1)[0],
        "a/palette.png": encode(gray_palette(gray)),
        "b/la.png": encode(Image.fromarray(np.dstack([gray, half_transparent(gray)]))),
        "b/gray16.png": encode(Image.fromarray(gray.astype(np.uint16) * 257)),
    })
    data = load_tree(root)["train"]
    assert data.report.skip_counts() == {}
    assert data.image_shape == (28, 28, 1)
    images = by_name(data)
    np.testing.assert_array_equal(images["palette.png"][..., 0], gray)
    np.testing.assert_array_equal(images["gray16.png"][..., 0], gray)
    np.testing.assert_array_equal(images["la.png"][:, :14, 0], 255)
    np.testing.assert_array_equal(images["la.png"][:, 14:, 0], gray[:, 14:])


def test_exif_rotated_jpeg_is_not_shrunk_below_its_target():
    """libjpeg may decode at a reduced scale; for a turned image the reduction must be
    judged in stored orientation, or a wide target gets a blurred, upscaled image."""
    rng = np.random.default_rng(0)
    stored = np.asarray(Image.fromarray(rng.integers(0, 256, (25, 100, 3), dtype=np.uint8))
                        .resize((400, 100), Image.Resampling.BICUBIC))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    data = encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif)
    shown = Image.fromarray(pixels(data)).transpose(Image.Transpose.ROTATE_270)  # 100x400
    assert shown.size == (100, 400)
    # Cover 50x200 (HxW): scale 2 to 200x800, keep the centre 50 rows. No reduction fits.
    expected = shown.resize((200, 50), Image.Resampling.BILINEAR, box=(0, 187.5, 100, 212.5))
    np.testing.assert_array_equal(decode(data, 50, 200, 3), np.asarray(expected))
