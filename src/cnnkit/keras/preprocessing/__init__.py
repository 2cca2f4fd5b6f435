"""``keras.preprocessing``: where older tutorials find ``image_dataset_from_directory`` and
``image.load_img`` (Keras 3 keeps these names)."""

from ..utils import image_dataset_from_directory
from . import image

__all__ = ["image", "image_dataset_from_directory"]
