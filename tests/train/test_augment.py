"""Batched training augmentation on real images: what each op does, its syntax and config."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit import data
from cnnkit.errors import ConfigError
from cnnkit.layers.augment_ops import Rotate, Zoom
from cnnkit.models.preprocess import Preprocess, to_tensor
from cnnkit.train.augment import Augmenter, default_augment, parse_augment
from sample_images import cifar_jpegs, pixels

CIFAR = (32, 32, 3)
ALL_OPS = "flip=hv,crop=4,rotate=10,zoom=0.1,brightness=0.2,contrast=0.2,erase=0.5"
EACH_OP = ["flip", "flip=v", "crop=4", "crop=4:reflect", "rotate=15", "zoom=0.2",
           "rotate=10,zoom=0.1:zero", "brightness=0.3", "contrast=0.3", "erase=1", ALL_OPS]


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    """64 real CIFAR-10 photos in [0, 1], float NCHW in channels_last memory."""
    images = np.stack([pixels(jpeg) for jpeg in cifar_jpegs(64)])
    return to_tensor(images, Preprocess())


@pytest.fixture(scope="module")
def clothes() -> torch.Tensor:
    """64 real Fashion-MNIST images (28x28x1) from the embedded set, as model input."""
    return to_tensor(data.load("fashion-mnist-mini").images[:64], Preprocess())


def _augment(spec, x: torch.Tensor, seed: int = 0, value_range=(0.0, 1.0)) -> torch.Tensor:
    augmenter = parse_augment(spec, (*x.shape[2:], x.shape[1]), value_range)
    torch.manual_seed(seed)
    return augmenter(x)


@pytest.mark.parametrize("spec", EACH_OP)
def test_keeps_shape_dtype_memory_format_and_input(spec: str, photos: torch.Tensor) -> None:
    before = photos.clone()
    out = _augment(spec, photos)
    assert out.shape == photos.shape and out.dtype == torch.float32
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert not torch.equal(out, photos)
    assert torch.equal(photos, before), "the input batch must not be changed in place"


@pytest.mark.parametrize(("spec", "variants"), [
    ("flip", lambda x: [x, x.flip(-1)]),
    ("flip=v", lambda x: [x, x.flip(-2)]),
    ("flip=hv", lambda x: [x, x.flip(-1), x.flip(-2), x.flip(-1).flip(-2)]),
])
def test_flip_flips_each_sample_exactly(spec: str, variants, photos: torch.Tensor) -> None:
    out = _augment(spec, photos)
    seen = []
    for i in range(len(photos)):
        matches = [k for k, v in enumerate(variants(photos[i])) if torch.equal(out[i], v)]
        assert len(matches) == 1, f"sample {i} is no flip of its input"
        seen.append(matches[0])
    assert set(seen) == set(range(len(variants(photos[0])))), "every flip should occur"


def _shifted(x: torch.Tensor, dy: int, dx: int, pad: int, mode: str) -> torch.Tensor:
    """``x`` (C, H, W) with its content moved down ``dy`` and right ``dx`` pixels: pad, then
    cut the window (the reference for crop)."""
    padded = F.pad(x[None], (pad, pad, pad, pad), mode=mode)[0]
    height, width = x.shape[1:]
    return padded[:, pad - dy:pad - dy + height, pad - dx:pad - dx + width]


@pytest.mark.parametrize("fill", ["zero", "reflect"])
def test_crop_moves_content_by_whole_pixels_within_the_padding(fill: str) -> None:
    # A known pattern: every pixel holds a different value, so a moved pixel is found.
    height, width, pad = 20, 24, 3
    pattern = torch.arange(1.0, height * width + 1).view(1, 1, height, width) / (height * width)
    x = pattern.expand(200, 3, height, width).contiguous(memory_format=torch.channels_last)
    out = _augment(f"crop={pad}:{fill}", x)
    centre = pattern[0, 0, height // 2, width // 2]
    shifts = set()
    for i in range(len(x)):
        rows, cols = torch.nonzero(out[i, 0] == centre, as_tuple=True)
        dy, dx = int(rows[0]) - height // 2, int(cols[0]) - width // 2
        assert abs(dy) <= pad and abs(dx) <= pad
        mode = "constant" if fill == "zero" else "reflect"
        assert torch.equal(out[i], _shifted(x[i], dy, dx, pad, mode)), f"sample {i}"
        shifts.add((dy, dx))
    # 200 draws from 49 equally likely shifts: all sizes and both directions occur.
    assert {dy for dy, _ in shifts} == set(range(-pad, pad + 1))
    assert {dx for _, dx in shifts} == set(range(-pad, pad + 1))


def test_erase_zeroes_one_rectangle_of_the_expected_area() -> None:
    height, width = 32, 32
    x = torch.ones(300, 3, height, width).contiguous(memory_format=torch.channels_last)
    out = _augment("erase=1", x)
    areas = []
    for i in range(len(x)):
        erased = out[i] == 0
        assert torch.equal(erased, erased[:1].expand_as(erased)), "all channels alike"
        rows = torch.nonzero(erased[0].any(1)).flatten()
        cols = torch.nonzero(erased[0].any(0)).flatten()
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert int(erased[0].sum()) == int(box), f"sample {i}: erased pixels are no rectangle"
        areas.append(int(box) / (height * width))
    # 2 % to 33 % of the image, give or take the rounding of the sides (half a side).
    slack = 0.5 * max(height, width) / (height * width)
    assert 0.02 - slack <= min(areas) and max(areas) <= 0.33 + slack
    assert min(areas) < 0.06 and max(areas) > 0.25, "areas should span the range"


def test_erase_probability_is_per_sample(photos: torch.Tensor) -> None:
    x = photos.repeat(8, 1, 1, 1) * 0.9 + 0.05  # no pixel is 0 before erasing
    erased = (_augment("erase=0.5", x) == 0).flatten(1).any(1).float().mean()
    assert 0.4 < float(erased) < 0.6  # 512 samples: 6 standard deviations of slack


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
@pytest.mark.parametrize("spec", ["brightness=0.5", "contrast=0.9", "brightness=1,contrast=1"])
def test_brightness_and_contrast_stay_in_the_value_range(spec, value_range, photos) -> None:
    low, high = value_range
    x = photos * (high - low) + low
    out = _augment(spec, x, value_range=value_range)
    assert out.min() >= low and out.max() <= high
    assert out.min() == low or out.max() == high, "strong factors should reach the bounds"


def test_brightness_adds_one_offset_per_sample(photos: torch.Tensor) -> None:
    out = _augment("brightness=0.2", photos)
    for i in range(len(photos)):
        unclipped = (out[i] > 0) & (out[i] < 1)
        delta = (out[i] - photos[i])[unclipped]
        assert float(delta.max() - delta.min()) < 1e-5 and abs(float(delta[0])) <= 0.2 + 1e-6


def test_rotate_and_zoom_share_one_warp(photos: torch.Tensor) -> None:
    augmenter = parse_augment("zoom=0.2,rotate=30", CIFAR)
    warps = [m for m in augmenter._stages if hasattr(m, "warps")]
    assert len(augmenter._stages) == 1 and len(warps) == 1
    torch.manual_seed(3)
    combined = warps[0].theta(photos)
    args = {"fill_mode": "constant", "interpolation": "bilinear", "fill_value": 0.0,
            "seed": None}
    torch.manual_seed(3)  # the same draws, in the same order: rotation, then zoom
    rotation = Rotate((-30 / 360, 30 / 360), **args).theta(photos)
    zoom = Zoom((-0.2, 0.2), None, **args).theta(photos)
    assert torch.allclose(combined, rotation[:, :, :2] @ zoom, atol=1e-6)


def test_no_rotation_and_no_zoom_leave_the_image(photos: torch.Tensor) -> None:
    assert torch.allclose(_augment("rotate=0,zoom=0", photos), photos, atol=1e-5)


def test_same_seed_same_batch_other_seed_other_batch(photos: torch.Tensor) -> None:
    first = _augment(ALL_OPS, photos, seed=5)
    assert torch.equal(_augment(ALL_OPS, photos, seed=5), first)
    assert not torch.equal(_augment(ALL_OPS, photos, seed=6), first)


def test_default_for_grayscale_never_flips_left_right(clothes: torch.Tensor) -> None:
    augmenter = parse_augment("auto", (28, 28, 1))
    assert [op["op"] for op in augmenter.get_config()["ops"]] == ["crop", "rotate", "zoom"]
    assert augmenter.describe() == "crop(pad 3 px), rotate(±10°), zoom(±0.1)"
    out = _augment("auto", clothes)
    assert out.shape == clothes.shape and not torch.equal(out, clothes)


def test_default_for_colour_flips_and_crops_with_padding_scaled_to_the_size() -> None:
    assert default_augment(CIFAR) == "flip,crop=4,brightness=0.1,contrast=0.1"
    assert default_augment((64, 96, 3)).startswith("flip,crop=8,")
    assert parse_augment("auto", CIFAR).describe() == \
        "flip(h), crop(pad 4 px), brightness(0.1), contrast(0.1)"


def test_all_spellings_give_the_same_augmenter() -> None:
    expected = parse_augment("flip,crop=4:reflect,rotate=12", CIFAR).get_config()
    spellings = [
        "rotate=12, translate=4:reflect, flip=h",
        ["flip", "crop=4:reflect", {"rotate": 12}],
        [{"op": "flip"}, {"op": "crop", "pad": 4, "fill": "reflect"}, "rotation=12"],
        {"flip": True, "crop": {"pad": 4, "fill": "reflect"}, "rotate": 12, "erase": False},
        {"flip": None, "crop": [4, "reflect"], "rotate": "12"},
    ]
    for spec in spellings:
        assert parse_augment(spec, CIFAR).get_config() == expected, spec


def test_config_round_trips_through_json(photos: torch.Tensor) -> None:
    augmenter = parse_augment(ALL_OPS, CIFAR, value_range=(-1.0, 1.0))
    config = json.loads(json.dumps(augmenter.get_config()))
    again = Augmenter.from_config(config)
    assert again.get_config() == augmenter.get_config()
    assert again.describe() == augmenter.describe()
    torch.manual_seed(1)
    first = augmenter(photos)
    torch.manual_seed(1)
    assert torch.equal(again(photos), first)


@pytest.mark.parametrize("spec", [None, "none", " None ", "", False, {}, []])
def test_no_augmentation(spec) -> None:
    assert parse_augment(spec, CIFAR) is None


@pytest.mark.parametrize(("spec", "message"), [
    ("flip,rotat=10", "did you mean 'rotate'"),
    ("flipp", "did you mean 'flip'"),
    ({"crop": {"padding": 4}}, "did you mean 'pad'"),
    ("rotate=abc", "must be a number"),
    ("erase=2", "must lie in [0, 1]"),
    ("flip=x", "must be one of h, v, hv"),
    ("crop=4:mirror", "must be one of zero, reflect"),
    ("crop=32", "smaller than the image side"),
    ("crop=2.5", "must be an integer"),
    ("brightness=0.1:0.2", "at most 1 value"),
    ("flip,flip=v", "given twice"),
    ("rotate=10:reflect,zoom=0.1", "same fill"),
    ([3], "cannot read augmentation item"),
])
def test_mistakes_get_a_clear_config_error(spec, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_augment(spec, CIFAR)
    assert message in str(error.value)


def test_incomplete_config_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="lacks pad"):
        Augmenter([{"op": "crop", "fill": "zero"}])
    with pytest.raises(ConfigError, match="parse_augment"):
        Augmenter(["flip"])
    with pytest.raises(ConfigError, match="value_range"):
        Augmenter([], value_range=(1.0, 0.0))
