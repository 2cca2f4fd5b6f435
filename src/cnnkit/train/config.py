"""The resolved settings of one training run: every ``cnnkit train`` flag is also a key.

A run's config is written to ``config.yaml`` in its run directory; ``--config run.yaml``
reads one back (flags given on the command line win over the file), and ``--resume`` uses
the saved one so the resumed run loads the same data and model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from ..atomic import write_text_atomically
from ..data.decode import MAX_SIDE
from ..errors import ConfigError
from ..naming import did_you_mean
from ..yaml_files import YamlTooLarge, load_bounded
from .augment import parse_augment
from .balance import weighting_mode
from .bounds import SETTINGS, problem
from .device import autocast_dtype, resolve_device
from .precision import PRECISIONS
from .schedules import parse_schedule
from .tta import check_tta


@dataclass
class RunConfig:
    """Settings of a training run (see docs/training.md for each)."""

    data: str | None = None
    model: str | None = None
    recipe: str | None = None  # a cnnkit.recipes name: model and settings (flags win over it)
    val: str | None = None
    val_split: float = 0.1
    test: str | None = None
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    label_smoothing: float = 0.0
    ema: float | None = None  # decay per step of the weights' moving average (use_ema)
    tta: str | None = None  # "flip": the final test averages each image and its mirror
    clip_norm: float | None = None
    class_weight: str | dict | None = None
    balanced_sampling: bool = False
    augment: str | list | dict | None = "none"
    early_stopping: int | None = None
    weights: str | None = None  # "imagenet" (--pretrained) or a file: workflows/pretrained.py
    freeze_epochs: int = 20
    image_size: int | list | None = None
    precision: str = "auto"
    threads: int | None = None
    device: str = "auto"
    seed: int = 0
    deterministic: bool = False
    fraction: float = 1.0
    out: str | None = None
    overwrite: bool = False
    checkpoint_minutes: float = 10.0
    checkpoint_steps: int | None = None
    strict: bool = False

    def validate(self) -> RunConfig:
        """Raise a ConfigError for values that cannot work; returns self."""
        if not self.data:
            raise ConfigError("no training data given",
                              hint="cnnkit train PATH|NAME (or --data PATH|NAME)")
        for name in SETTINGS:
            value = getattr(self, name)
            if value is None and getattr(RunConfig, name) is not None:
                raise ConfigError(f"{name} must be set", hint=f"give {name} a value or leave "
                                  "it out to use the default")
            if reason := problem(name, value):
                raise ConfigError(reason, hint="see 'cnnkit train --help' and "
                                               "docs/training.md for each setting")
        check_tta(self.tta)
        if self.precision not in PRECISIONS:
            raise ConfigError("precision must be auto, fp32, bf16 or fp16")
        # a device this machine lacks, or fp16 off CUDA: refused before any work
        autocast_dtype(self.precision, resolve_device(self.device))
        # names checked now, not after minutes of decoding; the largest image shape lets
        # every size-dependent augmentation check pass until the real shape is known
        parse_schedule(self.schedule)
        parse_augment(self.augment, (MAX_SIDE, MAX_SIDE, 3))
        weighting_mode(self.class_weight)
        return self

    def to_dict(self) -> dict:
        """Plain data, for ``config.yaml``."""
        return asdict(self)

    def save(self, path: Path) -> None:
        """Write ``config.yaml``."""
        write_text_atomically(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> RunConfig:
        """A config from a mapping; unknown keys get a did-you-mean error."""
        names = {f.name for f in fields(cls)}
        normalised = {str(k).replace("-", "_"): v for k, v in (data or {}).items()}
        for key in normalised:
            if key not in names:
                raise ConfigError(f"{source}: unknown setting {key!r}",
                                  hint=did_you_mean(key, names))
        return cls(**normalised)

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        """Read a YAML (or JSON) config file."""
        try:
            data = load_bounded(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
        except YamlTooLarge as exc:
            raise ConfigError(f"config {path} refused: {exc}",
                              hint="write each setting out; a run config needs no aliases") \
                from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a mapping of settings, e.g. 'epochs: 5'")
        return cls.from_dict(data or {}, str(path))

    def merged(self, overrides: dict) -> RunConfig:
        """A copy with ``overrides`` (non-None values) applied."""
        data = self.to_dict()
        data.update({k: v for k, v in overrides.items() if v is not None})
        return RunConfig.from_dict(data)


def config_keys(path: Path | None) -> set[str]:
    """The settings a ``--config`` file sets (none without a file)."""
    if path is None:
        return set()
    return {str(key).replace("-", "_") for key in load_bounded(Path(path).read_text()) or {}}
