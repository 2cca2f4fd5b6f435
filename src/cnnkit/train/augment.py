"""Training-batch augmentation: :class:`Augmenter`, the ``--augment`` syntax and its defaults.

An augmenter is an ordered set of batched random ops (see docs/training.md, section
"Augmentation"). The ops always run in the order of :data:`ORDER`, whatever order they
are written in, so that rotation and zoom share one resampling and erasing comes last.
All randomness comes from torch's global generator, so ``torch.manual_seed`` and a saved
``torch.get_rng_state()`` reproduce a run exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cnnkit.errors import ConfigError
from cnnkit.layers.augment_ops import (
    Brightness,
    ComposedWarp,
    Contrast,
    Crop,
    Erase,
    Flip,
    Rotate,
    Zoom,
)
from cnnkit.naming import did_you_mean

ORDER = ("flip", "crop", "rotate", "zoom", "brightness", "contrast", "erase")
ALIASES = {"translate": "crop", "rotation": "rotate", "cutout": "erase"}
# Each op's parameters, in the order a value like "crop=4:reflect" fills them.
PARAMS = {"flip": ("axes",), "crop": ("pad", "fill"), "rotate": ("degrees", "fill"),
          "zoom": ("factor", "fill"), "brightness": ("factor",), "contrast": ("factor",),
          "erase": ("p",)}
AXES = ("h", "v", "hv")
FILLS = ("zero", "reflect")
# (op, parameter) -> how a value is read and checked: a tuple of choices, or (type, low, high).
_KINDS: dict[tuple[str, str], tuple] = {
    ("flip", "axes"): AXES, ("crop", "pad"): (int, 1, 4096), ("crop", "fill"): FILLS,
    ("rotate", "degrees"): (float, 0.0, 180.0), ("rotate", "fill"): FILLS,
    ("zoom", "factor"): (float, 0.0, 0.9), ("zoom", "fill"): FILLS,
    ("brightness", "factor"): (float, 0.0, 1.0), ("contrast", "factor"): (float, 0.0, 1.0),
    ("erase", "p"): (float, 0.0, 1.0),
}
_DESCRIBE: dict[str, Callable[[dict], str]] = {
    "flip": lambda o: f"flip({o['axes']})",
    "crop": lambda o: f"crop(pad {o['pad']} px{', reflect' if o['fill'] == 'reflect' else ''})",
    "rotate": lambda o: f"rotate(±{o['degrees']:g}°)",
    "zoom": lambda o: f"zoom(±{o['factor']:g})",
    "brightness": lambda o: f"brightness({o['factor']:g})",
    "contrast": lambda o: f"contrast({o['factor']:g})",
    "erase": lambda o: f"erase(p={o['p']:g})",
}
_FILL_MODES = {"zero": "constant", "reflect": "reflect"}  # our fill -> the Warp's fill_mode
# The module that runs each op, from its config and the value range (rotate and zoom: _warp).
_STAGES: dict[str, Callable[[dict, tuple[float, float]], torch.nn.Module]] = {
    "flip": lambda o, _: Flip("h" in o["axes"], "v" in o["axes"], None),
    "crop": lambda o, _: Crop(o["pad"], o["fill"]),
    "brightness": lambda o, value_range: Brightness(o["factor"], value_range),
    "contrast": lambda o, value_range: Contrast((1 - o["factor"], 1 + o["factor"]),
                                                value_range, None),
    "erase": lambda o, _: Erase(o["p"]),
}


class Augmenter:
    """Batched, tensor-only augmentation for training batches (never used at evaluation).

    ``ops`` are complete op configs ``{"op": name, **parameters}`` (as :meth:`get_config`
    writes them; :func:`parse_augment` makes them from the user's syntax). Pixel values
    are expected in ``value_range``; brightness and contrast keep them there.
    """

    def __init__(self, ops: list, value_range: tuple[float, float] = (0.0, 1.0)) -> None:
        low, high = (float(v) for v in value_range)
        if not low < high:
            raise ConfigError(f"augmentation value_range must be (low, high) with low < high, "
                              f"got {value_range!r}")
        self.value_range = (low, high)
        by_name: dict[str, dict] = {}
        for op in ops:
            if not isinstance(op, dict):
                raise ConfigError(f"Augmenter takes op configs such as {{'op': 'flip', "
                                  f"'axes': 'h'}}, got {op!r}",
                                  hint="parse_augment() reads 'flip,crop=4' and the like")
            name, options = _op_name(op.get("op")), {k: v for k, v in op.items() if k != "op"}
            if name in by_name:
                raise ConfigError(f"augmentation op {name!r} is given twice")
            missing = set(PARAMS[name]) - set(options)
            if missing:
                raise ConfigError(f"augmentation op {name!r} lacks {', '.join(sorted(missing))}")
            by_name[name] = {"op": name, **_checked(name, options)}
        self.ops = [by_name[name] for name in ORDER if name in by_name]
        self._stages = self._build()

    def _build(self) -> list[torch.nn.Module]:
        """The torch modules that run the ops, rotation and zoom fused into one warp."""
        warp_ops = [op for op in self.ops if op["op"] in ("rotate", "zoom")]
        stages = []
        for op in self.ops:
            if op["op"] not in ("rotate", "zoom"):
                stages.append(_STAGES[op["op"]](op, self.value_range))
            elif op is warp_ops[0]:
                stages.append(_warp(warp_ops))
        return stages

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """A randomly augmented copy of the float NCHW batch ``x``, same shape and memory
        format; one random draw per sample and op, no per-image Python work."""
        with torch.no_grad():
            for stage in self._stages:
                x = stage(x)
        return x

    def describe(self) -> str:
        """One line for logs, e.g. ``"flip(h), crop(pad 4 px), brightness(0.1)"``."""
        return ", ".join(_DESCRIBE[op["op"]](op) for op in self.ops)

    def __repr__(self) -> str:
        return f"Augmenter({self.describe()})"

    def get_config(self) -> dict:
        """JSON-ready form; :meth:`from_config` rebuilds the same augmenter."""
        return {"ops": [dict(op) for op in self.ops], "value_range": list(self.value_range)}

    @classmethod
    def from_config(cls, config: dict) -> Augmenter:
        """The augmenter that :meth:`get_config` described."""
        return cls(config["ops"], tuple(config["value_range"]))


def _warp(ops: list[dict]) -> ComposedWarp:
    """One warp for the rotate and/or zoom ops (they must agree on the fill)."""
    fills = {op["fill"] for op in ops}
    if len(fills) > 1:
        raise ConfigError("rotate and zoom share one resampling, so they need the same fill; "
                          f"got {' and '.join(sorted(fills))}",
                          hint="e.g. rotate=10:reflect,zoom=0.1:reflect")
    mode = _FILL_MODES[fills.pop()]
    args = {"fill_mode": mode, "interpolation": "bilinear", "fill_value": 0.0, "seed": None}
    warps = []
    for op in ops:
        if op["op"] == "rotate":
            turn = op["degrees"] / 360.0
            warps.append(Rotate((-turn, turn), **args))
        else:
            warps.append(Zoom((-op["factor"], op["factor"]), None, **args))
    return ComposedWarp(warps, mode)


def _op_name(name: Any) -> str:
    """The canonical op name; unknown names get a did-you-mean error."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in PARAMS:
        raise ConfigError(f"unknown augmentation op {name!r}",
                          hint=did_you_mean(key, [*PARAMS, *ALIASES]))
    return key


def _checked(name: str, options: dict) -> dict:
    """``options`` of op ``name`` read into their types and checked against their ranges."""
    out = {}
    for param, value in options.items():
        if param not in PARAMS[name]:
            raise ConfigError(f"augmentation op {name!r} has no parameter {param!r}",
                              hint=did_you_mean(param, PARAMS[name]))
        kind = _KINDS[name, param]
        where = f"augmentation {name} {param}"
        if isinstance(kind[0], str):
            choice = str(value).strip().lower()
            if choice not in kind:
                raise ConfigError(f"{where} must be one of {', '.join(kind)}, got {value!r}")
            out[param] = choice
            continue
        type_, low, high = kind
        try:
            if isinstance(value, bool):
                raise ValueError
            number = type_(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a{'n integer' if type_ is int else ' number'}, "
                              f"got {value!r}") from None
        if not low <= number <= high:
            raise ConfigError(f"{where} must lie in [{low:g}, {high:g}], got {value!r}")
        out[param] = number
    return out


def default_augment(image_shape: tuple[int, int, int]) -> str:
    """The ``"auto"`` augmentation for images of ``(H, W, C)``, as an ``--augment`` string.

    - Grayscale (C == 1; digits, characters, X-rays): no flips (a mirrored 2, 3 or 7 is not
      that digit), a shift of up to 10 % of the side (3 px at 28 px) with zero fill, a
      rotation of up to 10° and a zoom of up to 10 %.
    - Colour (C == 3; photos of objects): a horizontal flip (a mirrored car is still a
      car), a random crop padded by 1/8 of the side (4 px at 32 px, the standard CIFAR
      recipe), and light brightness and contrast changes (0.1).
    """
    height, width, channels = image_shape
    side = min(height, width)
    if channels == 1:
        return f"crop={max(1, round(side * 0.1))},rotate=10,zoom=0.1"
    return f"flip,crop={max(1, round(side / 8))},brightness=0.1,contrast=0.1"


def _defaults(name: str, image_shape: tuple[int, int, int]) -> dict:
    """Parameter values of op ``name`` when the user gives none."""
    return {"flip": {"axes": "h"},
            "crop": {"pad": max(1, round(min(image_shape[:2]) / 8)), "fill": "zero"},
            "rotate": {"degrees": 10.0, "fill": "zero"},
            "zoom": {"factor": 0.1, "fill": "zero"},
            "brightness": {"factor": 0.2},
            "contrast": {"factor": 0.2},
            "erase": {"p": 0.5}}[name]


def _items(spec: str | list | dict) -> list[tuple[Any, Any]]:
    """(name, value) pairs from a comma list, a list of items, or a mapping."""
    if isinstance(spec, str):
        return [tuple(part.split("=", 1)) if "=" in part else (part, None)
                for part in (p.strip() for p in spec.split(",")) if part]
    if isinstance(spec, dict):
        return list(spec.items())
    pairs = []
    for item in spec:
        if isinstance(item, str):
            pairs.extend(_items(item))
        elif isinstance(item, dict) and "op" in item:
            pairs.append((item["op"], {k: v for k, v in item.items() if k != "op"}))
        elif isinstance(item, dict) and len(item) == 1:
            pairs.extend(item.items())
        else:
            raise ConfigError(f"cannot read augmentation item {item!r}",
                              hint="write 'crop=4', {'crop': 4} or {'op': 'crop', 'pad': 4}")
    return pairs


def _options(name: str, value: Any) -> dict:
    """The parameters that ``value`` (None, a number, "4:reflect", a list or a mapping)
    gives to op ``name``."""
    if value is None or value is True:
        return {}
    if isinstance(value, dict):
        return dict(value)
    values = value.split(":") if isinstance(value, str) else \
        list(value) if isinstance(value, list | tuple) else [value]
    params = PARAMS[name]
    if len(values) > len(params):
        raise ConfigError(f"augmentation op {name!r} takes at most {len(params)} value(s) "
                          f"({':'.join(params)}), got {value!r}")
    return {p: v.strip() if isinstance(v, str) else v for p, v in zip(params, values,
                                                                         strict=False)}


def parse_augment(spec: str | list | dict | None, image_shape: tuple[int, int, int],
                  value_range: tuple[float, float] = (0.0, 1.0)) -> Augmenter | None:
    """An :class:`Augmenter` from the user's ``augment`` setting, or None for no augmentation.

    ``spec`` is None, ``"none"``, ``"auto"`` (:func:`default_augment` for ``image_shape``),
    a comma list of ``op[=value[:value]]`` such as ``"flip,crop=4:reflect,rotate=10"``, a
    list of such items or of mappings, or a mapping ``{op: value}`` (``false`` leaves an op
    out), as YAML configs give them. Unknown ops and parameters raise a ConfigError with a
    suggestion; parameters left out take documented defaults that suit ``image_shape``.
    """
    if spec is None or spec is False or (isinstance(spec, str) and
                                         spec.strip().lower() in ("", "none")):
        return None
    if isinstance(spec, str) and spec.strip().lower() == "auto":
        spec = default_augment(image_shape)
    ops = []
    for raw, value in _items(spec):
        if value is False:
            continue
        name = _op_name(raw)
        options = _checked(name, {**_defaults(name, image_shape), **_options(name, value)})
        if name == "crop" and options["pad"] >= min(image_shape[:2]):
            raise ConfigError(f"augmentation crop pad must be smaller than the image side "
                              f"({min(image_shape[:2])} px), got {options['pad']}")
        ops.append({"op": name, **options})
    return Augmenter(ops, value_range) if ops else None
