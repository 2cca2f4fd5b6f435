"""The baseline: a plain, hand-written PyTorch training loop on the same networks.

This is what a PyTorch user would write for the tutorial CNNs: ``nn.Sequential`` with the
same layers (and so the same parameter count), channels_last memory, Adam with
Keras's learning rate and epsilon, cross-entropy on logits. Each batch is gathered from
the same uint8 NHWC images by index and converted the cheapest honest way: one
``uint8 -> float32`` conversion of the NCHW view (which keeps channels_last strides) and
one in-place scaling by 1/255. It tracks no metrics; cnnkit and Keras also compute the
accuracy. It is the speed that cnnkit's own loop should at least match.

It trains in fp32, or with ``precision="bf16"`` runs the forward pass and the loss under
``torch.autocast("cpu", dtype=torch.bfloat16)``, as a PyTorch user would for bf16 (the
weights, gradients and Adam's state stay fp32, as in cnnkit's bf16).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from workload import Sample


def mnist_net() -> nn.Sequential:
    """The Keras MNIST tutorial CNN (225,034 parameters), outputting logits."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(5 * 5 * 64, 128), nn.ReLU(), nn.Linear(128, 10))


def cifar10_net() -> nn.Sequential:
    """The TensorFlow CIFAR-10 tutorial CNN (122,570 parameters), outputting logits."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * 4 * 64, 64), nn.ReLU(), nn.Linear(64, 10))


NETS = {"mnist": mnist_net, "cifar10": cifar10_net}


class TorchLoop:
    """One network and optimizer, trained an epoch at a time on a sample; ``build`` makes
    the network instead of ``NETS[name]`` (the zoo's plain modules, zoo_speed.py)."""

    def __init__(self, name: str, sample: Sample, batch: int, warmup_batches: int,
                 precision: str = "fp32", build: Callable[[], nn.Module] | None = None):
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision {precision!r}: use fp32 or bf16")
        torch.manual_seed(0)
        self.autocast = precision == "bf16"
        self.net = (build or NETS[name])().to(memory_format=torch.channels_last).train()
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)
        self.images = torch.from_numpy(sample.images)
        self.labels = torch.from_numpy(sample.labels)
        self.batch = batch
        self.epoch(warmup_batches * batch)  # oneDNN picks its kernels on first use

    def epoch(self, count: int) -> None:
        """One shuffled pass over the first ``count`` images."""
        order = torch.randperm(count)
        for start in range(0, count, self.batch):
            index = order[start:start + self.batch]
            x = self.images[index].permute(0, 3, 1, 2).float().mul_(1.0 / 255.0)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
                loss = F.cross_entropy(self.net(x), self.labels[index])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()

    def images_per_second(self) -> float:
        """Training throughput of one epoch over the whole sample."""
        start = time.perf_counter()
        self.epoch(len(self.images))
        return len(self.images) / (time.perf_counter() - start)
