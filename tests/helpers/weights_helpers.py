"""A tiny network in torchvision's style (``conv1``, ``bn1``, ``fc``) following the zoo
protocol, and state-dict files of it saved the way torchvision publishes them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.zoo.catalog import Network


class TinyNet(nn.Module):
    """Convolution, batch norm, global average pooling, classifier."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, num_classes)
        self.num_features = 8

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(self.conv1(x)))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features.mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


TINY = Network(name="tiny", build=TinyNet, family="tiny", torchvision="tiny")


def trained_state_dict(seed: int = 0, num_classes: int = 1000) -> dict[str, torch.Tensor]:
    """A TinyNet state dict with distinctive values (as if trained), batch-norm buffers too."""
    torch.manual_seed(seed)
    state = TinyNet(num_classes).state_dict()
    return {k: (torch.randn_like(v) if v.is_floating_point() else v + 7)
            for k, v in state.items()}


def save_torchvision_style(state_dict: dict, folder: Path, stem: str = "tiny") -> Path:
    """``torch.save`` the state dict, then name the file ``<stem>-<first 8 hex digits of
    its SHA-256>.pth``, as torchvision's published files are named."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f"{stem}.pth"
    torch.save(state_dict, scratch)
    digest = hashlib.sha256(scratch.read_bytes()).hexdigest()
    final = folder / f"{stem}-{digest[:8]}.pth"
    os.replace(scratch, final)
    return final
