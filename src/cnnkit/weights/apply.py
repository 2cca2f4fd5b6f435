"""Put pretrained weights into a zoo network: ``load_pretrained(module, network, weights)``.

Every tensor must find its place: the keys and shapes are compared first, and a
mismatch names the first few keys that differ, instead of torch's wall of text. A family
whose module names differ from the published file's defines ``convert_pretrained(state_dict)``
on its module, which returns the state dict renamed to its own keys.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..errors import WeightsError
from .files import read_state_dict
from .networks import find_network
from .sources import imagenet_state_dict

if TYPE_CHECKING:
    from ..zoo.catalog import Network

SHOWN = 4  # mismatching keys named in an error


def load_pretrained(module: nn.Module, network: Network | str,
                    weights: str | os.PathLike | None, *, include_top: bool = True,
                    progress: bool = True) -> nn.Module:
    """Load ``weights`` into ``module``, a network built from the zoo entry ``network``
    (or its name), and return the module.

    ``weights`` is None (nothing to load), ``"imagenet"`` (the published weights: see
    :mod:`cnnkit.weights.sources`) or the path of a ``.pth``/``.pt``/``.safetensors`` file.
    With ``include_top=False`` the classifier (what ``forward_head`` uses) keeps its own
    initial weights, as in Keras: for a new head on other classes.
    """
    if weights is None:
        return module
    entry = find_network(network) if isinstance(network, str) else network
    if isinstance(weights, str) and weights.lower() == "imagenet":
        state_dict = imagenet_state_dict(entry, progress=progress)
        where = f"{entry.name}'s ImageNet weights"
    elif isinstance(weights, (str, os.PathLike)):
        state_dict = read_state_dict(weights)
        where = str(Path(weights))
    else:
        raise WeightsError(f"weights={weights!r} is not understood",
                           hint="use None, 'imagenet' or the path of a .pth/.safetensors file")
    convert = getattr(module, "convert_pretrained", None)
    if callable(convert):
        state_dict = convert(state_dict)
    skip = head_keys(module) if not include_top else set()
    if not include_top:  # a module whose head was removed (Keras's include_top=False)
        own = module.state_dict()
        state_dict = {k: v for k, v in state_dict.items() if k in own and k not in skip}
    check_fit(module, state_dict, where, entry.name, skip)
    own = module.state_dict()
    module.load_state_dict({**{k: own[k] for k in skip}, **state_dict}, strict=True)
    return module


def check_fit(module: nn.Module, state_dict: dict[str, torch.Tensor], where: str,
              name: str, skip: set[str] = frozenset()) -> None:
    """Raise :class:`WeightsError` naming the first keys that are missing, unexpected or
    of another shape, unless ``state_dict`` fits ``module`` exactly (but for ``skip``)."""
    own = {k: v for k, v in module.state_dict().items() if k not in skip}
    problems = []
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    reshaped = [f"{k} {tuple(state_dict[k].shape)} (the network has {tuple(own[k].shape)})"
                for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    for label, keys in (("missing", missing), ("unexpected", unexpected),
                        ("of another shape", reshaped)):
        if keys:
            more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
            problems.append(f"{len(keys)} {label}: {', '.join(keys[:SHOWN])}{more}")
    if problems:
        raise WeightsError(f"{where}: the weights do not fit {name}: " + "; ".join(problems),
                           hint=f"give weights saved from the same network ({name}) with the "
                                "same number of classes (include_top=False keeps a new "
                                "classifier)")


def head_keys(module: nn.Module) -> set[str]:
    """The state-dict keys of the modules ``forward_head`` runs (the classifier), found by
    running it once on a small feature map; empty when the head was removed."""
    called: set[nn.Module] = set()
    hooks = [m.register_forward_hook(lambda m, i, o: called.add(m))
             for m in module.modules() if m is not module]
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module.forward_head(torch.zeros(1, module.num_features, 7, 7))
    except AttributeError:  # the head's modules were removed: nothing of it to skip
        return set()
    finally:
        module.train(was_training)
        for hook in hooks:
            hook.remove()
    return {f"{prefix}.{key}" for prefix, sub in module.named_modules() if sub in called
            for key in sub.state_dict()}
