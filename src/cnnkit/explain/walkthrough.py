"""A worked convolution: an image, a kernel and (optionally) pooling, with every step said
in words and drawn before and after, for ``cnnkit explain conv``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure

from .arithmetic import MODE_TEXT, conv_pixel_arithmetic, pool_pixel_arithmetic, size_arithmetic
from .figures import Panel, panels, to_uint8
from .playground import check_mode, convolve, pool


def _shape(array: np.ndarray) -> str:
    return "x".join(map(str, array.shape))


@dataclass
class Walkthrough:
    """The input, the convolved result (and its pooling), and the text that explains them."""

    before: np.ndarray  # uint8 (H, W, C)
    after: np.ndarray  # float64 (H', W', C) per channel, (H', W') summed
    pooled: np.ndarray | None = None  # float64 (H'', W'', C or 1)
    lines: list[str] = field(default_factory=list)

    def pictures(self) -> dict[str, tuple[np.ndarray, str]]:
        """``{"before"|"after"|"pooled": (uint8 pixels, how they were scaled)}``."""
        found = {"before": (self.before, "shown as is"), "after": to_uint8(self.after)}
        if self.pooled is not None:
            found["pooled"] = to_uint8(self.pooled)
        return found

    def figure(self) -> Figure:
        """Before, after (and pooled) side by side, each titled with its shape."""
        values = {"before": self.before, "after": self.after, "pooled": self.pooled}
        return panels([Panel(pixels, f"{name} {_shape(values[name])}\n({how})")
                       for name, (pixels, how) in self.pictures().items()])


def walkthrough(image: np.ndarray, kernel: np.ndarray, stride=1, padding: str = "valid",
                mode: str = "per_channel", pool_kind: str | None = None, pool_size: int = 2,
                at: tuple[int, int] | None = None) -> Walkthrough:
    """Convolve a uint8 ``(H, W, C)`` image with a 2-D kernel, then pool with ``pool_kind``
    ("max"/"avg", stride = size, "valid" padding) if given; the lines say which way the
    kernel was applied, the output sizes and the arithmetic of one output pixel (``at``,
    the centre by default)."""
    after = convolve(image, kernel, stride, padding, check_mode(mode))
    matrix = ["  " + " ".join(f"{v:7.4g}" for v in row) for row in np.asarray(kernel)]
    lines = [f"image: {_shape(image)}", f"kernel {_shape(np.asarray(kernel))}:", *matrix,
             f"applied {MODE_TEXT[mode]}",
             *size_arithmetic(image.shape[:2], np.shape(kernel), stride, padding),
             f"output: {_shape(after)}",
             *conv_pixel_arithmetic(image, kernel, stride, padding, mode, at)]
    result = Walkthrough(np.asarray(image), after, lines=lines)
    if pool_kind:
        maps = after if after.ndim == 3 else after[..., None]
        result.pooled = pool(maps, pool_size, kind=pool_kind)
        lines += [f"{pool_kind} pooling {pool_size}x{pool_size}, stride {pool_size}: keeps "
                  + ("the largest value of each window" if pool_kind == "max" else
                     "the mean of each window"),
                  *size_arithmetic(maps.shape[:2], pool_size, pool_size, "valid", "window"),
                  f"pooled: {_shape(result.pooled)}",
                  *pool_pixel_arithmetic(maps, pool_size, kind=pool_kind)]
    return result
