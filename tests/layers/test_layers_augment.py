"""Augmentation layers: identity in eval mode; random, batched and seedable in training."""

from __future__ import annotations

import pytest
import torch

from cnnkit import layers

SHAPE = (8, 8, 3)
AUGMENTATIONS = [
    lambda **kw: layers.RandomFlip(**kw),
    lambda **kw: layers.RandomRotation(0.2, **kw),
    lambda **kw: layers.RandomTranslation(0.2, 0.3, **kw),
    lambda **kw: layers.RandomZoom(0.3, **kw),
    lambda **kw: layers.RandomContrast(0.5, **kw),
]
IDS = ["flip", "rotation", "translation", "zoom", "contrast"]


def _images(n: int = 16) -> torch.Tensor:
    """Distinct, asymmetric images in [0, 255], NCHW in channels_last memory."""
    x = torch.arange(n * 3 * 8 * 8, dtype=torch.float32).reshape(n, 3, 8, 8) % 251
    return x.contiguous(memory_format=torch.channels_last)


def _module(layer: layers.Layer, training: bool = True) -> torch.nn.Module:
    return layer.build_module(SHAPE).train(training)


@pytest.mark.parametrize("make", AUGMENTATIONS, ids=IDS)
def test_identity_in_eval_mode(make) -> None:
    x = _images()
    assert _module(make(), training=False)(x) is x


@pytest.mark.parametrize("make", AUGMENTATIONS, ids=IDS)
def test_training_changes_images_keeps_shape_and_memory_format(make) -> None:
    layer = make()
    x = _images()
    out = _module(layer)(x)
    assert out.shape == x.shape
    assert layer.compute_output_shape(SHAPE) == SHAPE
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert not torch.equal(out, x)


@pytest.mark.parametrize("make", AUGMENTATIONS, ids=IDS)
def test_deterministic_under_torch_manual_seed(make) -> None:
    x = _images()
    module = _module(make())
    torch.manual_seed(7)
    first = module(x)
    torch.manual_seed(7)
    assert torch.equal(module(x), first)
    torch.manual_seed(8)
    assert not torch.equal(module(x), first)


@pytest.mark.parametrize("make", AUGMENTATIONS, ids=IDS)
def test_seed_argument_gives_a_layer_its_own_stream(make) -> None:
    x = _images()
    torch.manual_seed(1)
    first = _module(make(seed=42))(x)
    torch.manual_seed(2)
    assert torch.equal(_module(make(seed=42))(x), first)


@pytest.mark.parametrize(("mode", "variants"), [
    ("horizontal", lambda x: [x, x.flip(3)]),
    ("vertical", lambda x: [x, x.flip(2)]),
    ("horizontal_and_vertical", lambda x: [x, x.flip(3), x.flip(2), x.flip(2).flip(3)]),
])
def test_flip_flips_each_sample_independently(mode: str, variants) -> None:
    torch.manual_seed(0)
    x = _images(64)
    out = _module(layers.RandomFlip(mode))(x)
    seen = set()
    for i in range(len(x)):
        matches = [k for k, v in enumerate(variants(x[i:i + 1])) if torch.equal(out[i:i + 1], v)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == set(range(len(variants(x[:1]))))  # every variant occurs in 64 samples


def test_quarter_turn_rotates_counter_clockwise() -> None:
    x = _images(2)
    layer = layers.RandomRotation((0.25, 0.25), interpolation="nearest")
    torch.testing.assert_close(_module(layer)(x), torch.rot90(x, 1, dims=(2, 3)))


def test_translation_moves_content_down_and_fills_constant() -> None:
    x = _images(2)
    layer = layers.RandomTranslation((0.25, 0.25), 0.0, fill_mode="constant", fill_value=-1.0,
                                     interpolation="nearest")
    out = _module(layer)(x)
    torch.testing.assert_close(out[:, :, 2:], x[:, :, :-2])
    assert torch.all(out[:, :, :2] == -1.0)


def test_zoom_out_shrinks_image_into_the_centre() -> None:
    x = torch.ones(2, 3, 8, 8)
    layer = layers.RandomZoom((1.0, 1.0), fill_mode="constant", interpolation="nearest")
    out = _module(layer)(x)
    expected = torch.zeros(2, 3, 8, 8)
    expected[:, :, 2:6, 2:6] = 1.0
    torch.testing.assert_close(out, expected)


def test_reflect_fill_keeps_a_constant_image_constant() -> None:
    x = torch.full((4, 3, 8, 8), 5.0)
    for layer in (layers.RandomRotation(0.5), layers.RandomZoom(1.0),
                  layers.RandomTranslation(0.9, 0.9)):
        torch.testing.assert_close(_module(layer)(x), x)


def test_contrast_scales_around_each_sample_and_channel_mean() -> None:
    torch.manual_seed(0)
    x = torch.rand(8, 3, 8, 8) * 100 + 50
    out = _module(layers.RandomContrast(0.5))(x)
    centred = x - x.mean(dim=(2, 3), keepdim=True)
    # the per-sample factor that best explains the output, then the output it implies
    factor = (out - x.mean(dim=(2, 3), keepdim=True)).mul(centred).sum(dim=(1, 2, 3)) \
        / centred.square().sum(dim=(1, 2, 3))
    expected = centred * factor.view(-1, 1, 1, 1) + x.mean(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(out, expected)
    assert factor.min() >= 0.5 and factor.max() <= 1.5
    assert factor.std() > 0.05  # differs between samples


def test_contrast_clips_to_value_range() -> None:
    x = torch.rand(8, 3, 8, 8)
    out = _module(layers.RandomContrast((1.0, 1.0), value_range=(0.2, 0.8)))(x)
    assert out.min() >= 0.2 and out.max() <= 0.8
