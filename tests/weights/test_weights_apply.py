"""load_pretrained: a local state-dict file into a zoo network, strictly, with errors that
name the keys that do not fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cnnkit.errors import WeightsError
from cnnkit.weights import head_keys, load_pretrained, write_safetensors
from weights_helpers import TINY, TinyNet, save_torchvision_style, trained_state_dict

TORCHVISION_REFERENCE = (Path(__file__).resolve().parents[2] / ".." / "shared" /
                         "torchvision-reference" / "models.json").resolve()


@pytest.mark.parametrize("fmt", ["torchvision", "safetensors"])
def test_path_loads_every_tensor(tmp_path, fmt):
    state = trained_state_dict()
    if fmt == "torchvision":
        path = save_torchvision_style(state, tmp_path)
    else:
        path = tmp_path / "tiny.safetensors"
        write_safetensors(path, state)
    model = load_pretrained(TinyNet(), TINY, str(path))
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_none_leaves_the_network_alone():
    model = TinyNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert load_pretrained(model, TINY, None) is model
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())


def test_wrong_keys_and_shapes_are_named(tmp_path):
    state = trained_state_dict()
    state["classifier.weight"] = state.pop("fc.weight")
    state["conv1.weight"] = torch.zeros(16, 3, 3, 3)
    path = tmp_path / "other.pth"
    torch.save(state, path)
    model = TinyNet()
    before = model.conv1.weight.clone()
    with pytest.raises(WeightsError) as info:
        load_pretrained(model, TINY, path)
    message = str(info.value)
    assert "1 missing: fc.weight" in message
    assert "1 unexpected: classifier.weight" in message
    assert "conv1.weight (16, 3, 3, 3) (the network has (8, 3, 3, 3))" in message
    assert torch.equal(model.conv1.weight, before)  # nothing half-loaded


def test_many_mismatches_are_summarised(tmp_path):
    path = tmp_path / "unrelated.pth"
    torch.save({f"layer{i}.weight": torch.zeros(1) for i in range(10)}, path)
    with pytest.raises(WeightsError, match=r"10 unexpected: layer0.weight, .* and 6 more"):
        load_pretrained(TinyNet(), TINY, path)


def test_include_top_false_keeps_the_new_head(tmp_path):
    state = trained_state_dict(num_classes=1000)
    path = save_torchvision_style(state, tmp_path)
    model = TinyNet(num_classes=10)
    head_before = model.fc.weight.clone()
    assert head_keys(model) == {"fc.weight", "fc.bias"}
    with pytest.raises(WeightsError, match=r"of another shape: fc\.weight"):
        load_pretrained(model, TINY, path)
    load_pretrained(model, TINY, path, include_top=False)
    assert torch.equal(model.conv1.weight, state["conv1.weight"])
    assert torch.equal(model.bn1.running_var, state["bn1.running_var"])
    assert torch.equal(model.fc.weight, head_before)


def test_family_renames_keys_with_its_hook(tmp_path):
    class Renamed(TinyNet):
        def convert_pretrained(self, state_dict):
            return {k.replace("conv_first.", "conv1."): v for k, v in state_dict.items()}

    state = trained_state_dict()
    published = {k.replace("conv1.", "conv_first."): v for k, v in state.items()}
    path = tmp_path / "renamed.pth"
    torch.save(published, path)
    model = load_pretrained(Renamed(), TINY, path)
    assert torch.equal(model.conv1.weight, state["conv1.weight"])


def test_weights_argument_checked():
    with pytest.raises(WeightsError, match="not understood"):
        load_pretrained(TinyNet(), TINY, 3)


def test_resnet18_torchvision_state_dict_from_path(tmp_path):
    """A state dict with torchvision's ResNet-18 keys and shapes (from the reference
    listing, not from cnnkit's module), saved torchvision's way, loads by path."""
    resnet = pytest.importorskip("cnnkit.zoo.resnet", reason="zoo ResNet not merged yet")
    if not TORCHVISION_REFERENCE.is_file():
        pytest.skip(f"torchvision reference not found: {TORCHVISION_REFERENCE}")
    shapes = json.loads(TORCHVISION_REFERENCE.read_text())["models"]["resnet18"]["state_dict"]
    torch.manual_seed(0)
    state = {k: (torch.tensor(5) if k.endswith("num_batches_tracked") else torch.randn(shape))
             for k, shape in shapes.items()}
    path = save_torchvision_style(state, tmp_path, stem="resnet18")
    model = load_pretrained(resnet.NETWORKS["resnet18"].build(num_classes=1000), "resnet18",
                            str(path))
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
