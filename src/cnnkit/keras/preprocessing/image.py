"""``keras.preprocessing.image``: ``load_img`` and ``img_to_array`` under their older home."""

from ..utils import img_to_array, load_img

__all__ = ["img_to_array", "load_img"]
