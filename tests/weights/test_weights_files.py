"""Weight files are opened without running code in them; wrong files get cnnkit errors."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from cnnkit.errors import WeightsError
from cnnkit.weights import read_state_dict, write_safetensors
from cnnkit.weights.files import check_hash_prefix, hash_prefix
from weights_helpers import TinyNet, save_torchvision_style, trained_state_dict


class WritesAFile:
    """Unpickling this calls ``os.system`` to create ``target``: a pickle payload."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def test_pickle_payload_is_refused_without_running(tmp_path):
    marker = tmp_path / "payload-ran"
    state = trained_state_dict()
    state["fc.weight"] = WritesAFile(marker)
    path = tmp_path / "tiny.pth"
    torch.save(state, path)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="refused") as info:
        read_state_dict(path)
    assert "system" in str(info.value) and str(path) in str(info.value)
    assert not marker.exists()
    # The payload is real: an ordinary unpickler runs it.
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_plain_pickle_payload_is_refused(tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "legacy.pt"
    path.write_bytes(pickle.dumps({"w": WritesAFile(marker)}))
    with pytest.raises(WeightsError):
        read_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".safetensors"])
def test_formats_round_trip(tmp_path, suffix):
    state = trained_state_dict()
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        write_safetensors(path, state)
    else:
        torch.save(state, path)
    loaded = read_state_dict(path)
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_checkpoint_wrapper_is_unwrapped(tmp_path):
    state = trained_state_dict()
    path = tmp_path / "checkpoint.pth"
    torch.save({"epoch": 3, "state_dict": state}, path)
    assert read_state_dict(path).keys() == state.keys()


@pytest.mark.parametrize("content, says", [
    ([torch.zeros(2)], "holds list"),
    ({"fc.weight": torch.zeros(2), "epoch": 3}, "['epoch'] are not tensors"),
    ({}, "empty dict"),
])
def test_not_a_state_dict(tmp_path, content, says):
    path = tmp_path / "odd.pth"
    torch.save(content, path)
    with pytest.raises(WeightsError, match="not a state dict") as info:
        read_state_dict(path)
    assert says in str(info.value)


def test_whole_model_pickle_is_refused(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(TinyNet(), path)  # a pickled module names its class: not loadable safely
    with pytest.raises(WeightsError, match="refused"):
        read_state_dict(path)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_damaged_files(tmp_path, suffix):
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file(trained_state_dict(), path)
    else:
        torch.save(trained_state_dict(), path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(WeightsError, match=r"damaged|not a"):
        read_state_dict(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        read_state_dict(tmp_path / "nothing.pth")
    (tmp_path / "weights.h5").write_bytes(b"HDF")
    with pytest.raises(WeightsError, match=r"unknown weights format '\.h5'"):
        read_state_dict(tmp_path / "weights.h5")


def test_hash_prefix_in_names(tmp_path):
    assert hash_prefix("resnet18-f37072fd.pth") == "f37072fd"
    assert hash_prefix("alexnet-owt-7be5be79.pth") == "7be5be79"
    assert hash_prefix("shufflenetv2_x1-5666bf0f80.pth") == "5666bf0f80"
    assert hash_prefix("my-model-01.pth") is None  # too short to be a hash
    assert hash_prefix("weights.pth") is None
    path = save_torchvision_style(trained_state_dict(), tmp_path)
    check_hash_prefix(path, hash_prefix(path.name))
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="changed or damaged"):
        check_hash_prefix(path, hash_prefix(path.name))
