"""Cost of batched augmentation next to one training step of the CIFAR-10 tutorial CNN.

For a batch of 128 CIFAR-size images (32x32x3, float32 NCHW in channels_last memory) it
times, interleaved so that other load on the machine hits both alike: one forward +
backward + Adam step of ``cnnkit.zoo.tutorial_cifar10``, the ``"auto"`` augmentation for
colour images, every op alone, and all ops together. It prints medians in milliseconds and
each as a share of the training step, both in wall-clock time and in CPU time of this
process (``time.process_time``: on a machine that other jobs keep busy, CPU time is the
steadier measure of the work done).

    .venv/bin/python benchmarks/augment_cost.py [--rounds 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from cnnkit.train.augment import parse_augment
from cnnkit.zoo import tutorial_cifar10

SHAPE = (32, 32, 3)
SPECS = {
    "auto (colour)": "auto",
    "flip": "flip",
    "crop=4": "crop=4",
    "crop=4:reflect": "crop=4:reflect",
    "rotate=10": "rotate=10",
    "rotate+zoom": "rotate=10,zoom=0.1",
    "brightness": "brightness=0.2",
    "contrast": "contrast=0.2",
    "erase": "erase=0.5",
    "all ops": "flip,crop=4,rotate=10,zoom=0.1,brightness=0.2,contrast=0.2,erase=0.5",
}


def _seconds(run: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    """Time the training step and each augmentation; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = tutorial_cifar10(SHAPE, 10)
    model.build()
    net = model.net.train()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.rand(args.batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch,))

    def train_step() -> None:
        loss = F.cross_entropy(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    jobs = {"training step": train_step}
    for label, spec in SPECS.items():
        augmenter = parse_augment(spec, SHAPE)
        jobs[label] = lambda a=augmenter: a(x)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in jobs}
    for round_ in range(args.rounds + 3):
        for label, job in jobs.items():
            seconds = _seconds(job)
            if round_ >= 3:  # warm-up rounds are not counted
                times[label].append(seconds)

    def medians(label: str) -> tuple[float, float]:
        return tuple(statistics.median(t[i] for t in times[label]) * 1e3 for i in (0, 1))

    step_wall, step_cpu = medians("training step")
    print(f"batch {args.batch} x 32x32x3, {args.threads} threads, {args.rounds} rounds "
          "(medians)")
    print(f"  {'':16s} {'wall ms':>9s} {'of step':>8s} {'CPU ms':>9s} {'of step':>8s}")
    for label in times:
        wall, cpu = medians(label)
        print(f"  {label:16s} {wall:9.2f} {100 * wall / step_wall:7.1f}% "
              f"{cpu:9.2f} {100 * cpu / step_cpu:7.1f}%")

if __name__ == "__main__":
    main()
