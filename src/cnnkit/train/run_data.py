"""The datasets of a training run, loaded as its :class:`RunConfig` says: the training
split, validation (its own split, ``--val``, or held out with ``val_split``) and test, all
with the training set's classes and image size, each cut to ``fraction`` of its images."""

from __future__ import annotations

from dataclasses import dataclass

from ..data import ImageDataset, load_splits
from ..errors import ConfigError
from .config import RunConfig


@dataclass
class RunData:
    """The datasets a run trains, validates and tests on."""

    train: ImageDataset
    val: ImageDataset | None
    test: ImageDataset | None


def load_run_data(config: RunConfig, image_size=None, channels=None, classes=None,
                  quiet=False) -> RunData:
    """Training data, validation (own split, ``--val`` or held out with ``val_split``) and
    test data, all with the training set's classes and image size, and each a stratified
    ``fraction`` of its images (a quick trial validates and tests quickly too).
    ``image_size``, ``channels`` and ``classes`` (names, in the model's order) fit the data
    to a model that already exists."""
    size = image_size or config.image_size
    size = tuple(size) if isinstance(size, list) else size
    splits = load_splits(config.data, image_size=size, channels=channels, strict=config.strict,
                         progress=not quiet, classes=classes)
    if "train" not in splits:
        raise ConfigError(f"{config.data} has no training split (found {', '.join(splits)})")
    train = splits["train"]
    same = {"image_size": train.image_shape[:2], "channels": train.image_shape[2],
            "classes": train.class_names, "strict": config.strict, "progress": not quiet}
    val = _one_split(config.val, "val", same) if config.val else splits.get("val")
    if val is None and config.val_split > 0:
        train, val = train.split(config.val_split, seed=config.seed)
    test = _one_split(config.test, "test", same) if config.test else splits.get("test")
    return RunData(*(None if split is None else split.fraction(config.fraction, config.seed)
                     for split in (train, val, test)))


def _one_split(source: str, preferred: str, options: dict) -> ImageDataset:
    """The ``preferred`` split of ``source``, or its only split."""
    splits = load_splits(source, **options)
    if preferred in splits:
        return splits[preferred]
    if len(splits) == 1:
        return next(iter(splits.values()))
    raise ConfigError(f"{source} has splits {', '.join(splits)} but no {preferred!r} split",
                      hint="point to a folder or file holding just those images")
