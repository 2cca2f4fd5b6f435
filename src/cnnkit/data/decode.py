"""Turn one encoded image into a uint8 ``(H, W, C)`` array, by one documented policy.

Policy (see docs/data.md):
- Modes: grayscale, palette, RGB, RGBA/LA (composited on a white background), CMYK, YCbCr
  and 16-bit images all convert to 8-bit grayscale (1 channel) or RGB (3 channels).
- EXIF orientation is applied before anything else.
- Resize: scale, keeping the aspect ratio, until the image covers the target size, then
  crop the centre (bilinear, antialiased when shrinking). Images already at the target
  size are left untouched.
- Guards: zero-byte files, non-images, truncated data and decompression bombs (more than
  ``MAX_PIXELS`` pixels) raise :class:`ImageProblem` with a skip reason.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".pbm", ".tif", ".tiff"}
)
MAX_PIXELS = 64_000_000  # 8000 x 8000: more than any photo a classifier is trained on
MAX_FILE_BYTES = 256 * 1024 * 1024
# The largest side images are converted to for training or prediction: a 4096x4096 RGB image
# is 48 MiB, and a dataset's images are held at one size in a memory-mapped file.
MAX_SIDE = 4096
BACKGROUND = (255, 255, 255)

_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_ROTATING_ORIENTATIONS = frozenset({5, 6, 7, 8})  # EXIF values that swap width and height
_EXIF_ORIENTATION = 0x0112


def size_problem(height: int, width: int, channels: int) -> str | None:
    """Why images cannot be converted to ``height x width x channels`` (None when they
    can): each side from 1 to ``MAX_SIDE`` pixels, 1 (grayscale) or 3 (RGB) channels."""
    if channels not in (1, 3):
        return f"images have 1 (grayscale) or 3 (RGB) channels, not {channels}"
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        return (f"an image size of {height}x{width} is outside 1..{MAX_SIDE} pixels a side "
                f"(one such image alone is {height * width * channels / 2**20:,.0f} MiB)")
    return None


class ImageProblem(Exception):
    """A file that cannot be used as an image; ``reason`` is a key of ``SKIP_REASONS``."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Header:
    """What an image's header says, read without decoding its pixels."""

    height: int
    width: int
    mode: str
    gray: bool


def has_image_extension(name: str) -> bool:
    """True when the file name ends in an image extension, in any letter case."""
    dot = name.rfind(".")
    return dot >= 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def open_image(data: bytes) -> Image.Image:
    """The image in ``data``, opened by PIL; an ImageProblem for an empty or unreadable file."""
    if not data:
        raise ImageProblem("empty_file")
    if len(data) > MAX_FILE_BYTES:
        raise ImageProblem("too_large", f"{len(data):,} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise ImageProblem("not_an_image", "no known image format") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageProblem("too_large", str(exc)) from exc
    except Exception as exc:  # Pillow raises many types on garbage headers
        raise ImageProblem("corrupt", f"{type(exc).__name__}: {exc}") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageProblem("too_large", f"{width}x{height} pixels")
    if width < 1 or height < 1:
        raise ImageProblem("corrupt", f"{width}x{height} pixels")
    return image


def _is_gray(image: Image.Image) -> bool:
    if image.mode in _GRAY_MODES:
        return True
    if image.mode in ("P", "PA"):
        palette = image.getpalette() or []
        rgb = np.asarray(palette[: len(palette) // 3 * 3]).reshape(-1, 3)
        return bool(len(rgb)) and bool((rgb == rgb[:, :1]).all())
    return False


def _turned(image: Image.Image) -> bool:
    """True when the EXIF orientation swaps the stored width and height."""
    try:
        return image.getexif().get(_EXIF_ORIENTATION) in _ROTATING_ORIENTATIONS
    except Exception:  # a broken EXIF block is not worth losing the image over
        return False


def probe(data: bytes) -> Header:
    """Read an image's size (after EXIF rotation) and mode without decoding the pixels."""
    image = open_image(data)
    height, width = image.height, image.width
    if _turned(image):
        height, width = width, height
    return Header(height=height, width=width, mode=image.mode, gray=_is_gray(image))


def _to_8bit(image: Image.Image) -> Image.Image:
    """16- and 32-bit grayscale to 8-bit, scaling the full 16-bit range to 0..255."""
    array = np.asarray(image)
    if array.dtype == np.float32 or array.dtype == np.float64:
        scaled = np.clip(array * (255.0 if array.max(initial=0) <= 1.0 else 1.0), 0, 255)
    else:
        scaled = np.clip(array.astype(np.int64) // 257 if array.max(initial=0) > 255 else array,
                         0, 255)
    return Image.fromarray(np.asarray(scaled, dtype=np.uint8), mode="L")


def _to_channels(image: Image.Image, channels: int) -> Image.Image:
    if image.mode.startswith("I") or image.mode == "F":
        image = _to_8bit(image)
    has_alpha = image.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        flat.alpha_composite(rgba)
        image = flat
    target = "L" if channels == 1 else "RGB"
    return image if image.mode == target else image.convert(target)


def crop_box(src_w: int, src_h: int, height: int, width: int
             ) -> tuple[float, float, float, float]:
    """The centred ``(left, top, right, bottom)`` region of a ``src_w`` x ``src_h`` image
    that has the target's aspect ratio and spans the image's full width or full height:
    scaled to ``width`` x ``height`` it covers the target exactly. The box always lies
    inside the image (Pillow refuses a box that starts a rounding error below 0 or ends
    past the edge), and the full side is exact, not computed through a scale factor."""
    if width * src_h >= height * src_w:  # the target is relatively wider: keep every column
        box_h = min(float(src_h), height * src_w / width)
        top = max(0.0, (src_h - box_h) / 2)
        return 0.0, top, float(src_w), min(float(src_h), top + box_h)
    box_w = min(float(src_w), width * src_h / height)
    left = max(0.0, (src_w - box_w) / 2)
    return left, 0.0, min(float(src_w), left + box_w), float(src_h)


def fit_to_size(image: Image.Image, height: int, width: int) -> Image.Image:
    """Scale to cover (height, width), keeping the aspect ratio, and crop the centre."""
    if image.size == (width, height):
        return image
    return image.resize((width, height), Image.Resampling.BILINEAR,
                        box=crop_box(image.width, image.height, height, width))


def decode(data: bytes, height: int, width: int, channels: int) -> np.ndarray:
    """Decode ``data`` to a uint8 ``(height, width, channels)`` array by the module's policy."""
    image = open_image(data)
    try:
        if image.format == "JPEG" and image.mode in ("RGB", "L"):
            # Let libjpeg decode at a reduced scale when the target is much smaller (the
            # target in stored orientation: EXIF rotation comes after).
            image.draft(image.mode, (height, width) if _turned(image) else (width, height))
        image.load()
        image = ImageOps.exif_transpose(image)
        image = fit_to_size(_to_channels(image, channels), height, width)
        array = np.asarray(image, dtype=np.uint8)
    except ImageProblem:
        raise
    except Exception as exc:
        raise ImageProblem("corrupt", f"{type(exc).__name__}: {exc}") from exc
    return array.reshape(height, width, channels)
