"""Weight files: read a state dict without running code, write one as safetensors.

``.pth``/``.pt``/``.bin`` files are pickles. They are opened with ``torch.load(...,
weights_only=True)``, whose unpickler builds tensors and plain containers only: a file
that asks for anything else (a function to call, a class to build) is refused before any
of it runs. ``.safetensors`` files hold no code at all. A file name that carries a hash
prefix (``resnet18-f37072fd.pth``, torchvision's convention) is checked against it.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from ..atomic import write_bytes_atomically
from ..data.download import sha256_of
from ..errors import WeightsError

PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
SAFETENSORS_SUFFIX = ".safetensors"
# torch.hub's convention: "-" then at least 8 hex digits of the SHA-256, then ".".
_HASH_PREFIX = re.compile(r"-([a-f0-9]{8,})\.")
# The wrappers training scripts commonly save a state dict in.
_WRAPPERS = ("state_dict", "model_state_dict", "model")


def hash_prefix(name: str) -> str | None:
    """The SHA-256 prefix a file name carries (``resnet18-f37072fd.pth`` -> ``f37072fd``)."""
    match = _HASH_PREFIX.search(name)
    return match.group(1) if match else None


def check_hash_prefix(path: Path, prefix: str) -> None:
    """Raise :class:`WeightsError` unless the file's SHA-256 starts with ``prefix``."""
    digest = sha256_of(path)
    if not digest.startswith(prefix):
        raise WeightsError(
            f"{path}: its SHA-256 is {digest}, but its name says it starts with {prefix}: "
            "the file was changed or damaged after it was published",
            hint="delete it and fetch it again from where it came from (if those digits "
                 "are not a hash, rename the file)")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.pth``/``.pt`` (opened with ``weights_only=True``) or
    ``.safetensors`` file, as a ``{name: tensor}`` dict on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist",
                           hint="check the path, or use weights='imagenet'")
    suffix = path.suffix.lower()
    if suffix == SAFETENSORS_SUFFIX:
        try:
            return load_file(path)
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{path} is not a readable safetensors file: {exc}",
                               hint="the file is damaged or truncated; fetch it again"
                               ) from exc
    if suffix not in PICKLE_SUFFIXES:
        raise WeightsError(f"{path}: unknown weights format {suffix or '(no suffix)'!r}",
                           hint="give a PyTorch state dict (.pth, .pt) or a .safetensors file")
    return _state_dict_of(_load_pickle(path), path)


def _load_pickle(path: Path) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        wanted = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if wanted:
            raise WeightsError(
                f"{path} asks to run or build {wanted.group(1)} when opened; cnnkit opens "
                "weight files without running any code in them, so it refused the file",
                hint="use a file that holds only tensors (torch.save(model.state_dict(), "
                     "path)) or a .safetensors file; do not open this one with pickle"
            ) from exc
        raise WeightsError(f"{path} is not a PyTorch weights file (or is damaged)",
                           hint="give a state dict saved with torch.save, or a .safetensors "
                                "file") from exc
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise WeightsError(f"{path} is not a readable PyTorch weights file: "
                           f"{str(exc).splitlines()[0]}",
                           hint="the file is damaged or truncated; fetch it again") from exc


def _state_dict_of(content: object, path: Path) -> dict[str, torch.Tensor]:
    """``content`` if it is a ``{name: tensor}`` dict, or the one such dict a checkpoint
    wraps it in; otherwise a :class:`WeightsError` saying what the file holds."""
    if isinstance(content, dict):
        for key in _WRAPPERS:
            if isinstance(content.get(key), dict):
                content = content[key]
                break
    if isinstance(content, dict) and content and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in content.items()):
        return dict(content)
    if isinstance(content, dict):
        bad = [k for k, v in content.items() if not isinstance(v, torch.Tensor)][:3]
        what = f"a dict whose entries {bad} are not tensors" if bad else "an empty dict"
    else:
        what = type(content).__name__
    raise WeightsError(f"{path} holds {what}, not a state dict of named tensors",
                       hint="save the weights with torch.save(model.state_dict(), path)")


def write_safetensors(path: Path, state_dict: dict[str, torch.Tensor]) -> None:
    """Write ``state_dict`` to ``path`` as safetensors, atomically."""
    tensors = {name: t.detach().contiguous() for name, t in state_dict.items()}
    write_bytes_atomically(path, save(tensors))
