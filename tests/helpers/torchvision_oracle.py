"""What torchvision's own networks compute: the oracle for the zoo's numerics.

The zoo's networks must not only have torchvision's state-dict layout but compute what
torchvision's compute with it, and draw the same initial weights from a seed. Run where
torchvision imports (the stored file was made with torchvision 0.28.0 and torch 2.13 CPU):

    python tests/helpers/torchvision_oracle.py mobilenet_v2 ... \
        > tests/helpers/torchvision_outputs.json

For each torchvision builder name it records ``logits``: every 50th of the evaluation-mode
logits of :func:`oracle_state_dict` on :func:`oracle_images`; and ``init``:
:func:`init_sums` of the network built right after ``torch.manual_seed(0)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

OUTPUTS = Path(__file__).resolve().parent / "torchvision_outputs.json"
LOGIT_STEP = 50


def oracle_state_dict(layout: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Seeded values for a state-dict layout (key: shape), in the layout's order: norm
    weights near 1, running variances in 0.5..1.5, other floats small; counters 7."""
    generator = torch.Generator().manual_seed(1)
    state = {}
    for key, shape in layout.items():
        if not shape:  # num_batches_tracked
            state[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            values = torch.randn(shape, generator=generator) * 0.1
            state[key] = values + 1.0 if key.endswith("weight") and len(shape) == 1 else values
    return state


def oracle_images() -> torch.Tensor:
    """Two seeded 64x64 RGB inputs, standard normal."""
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))


def init_sums(model: nn.Module) -> list[float]:
    """The sum and the sum of squares of all parameters, in float64."""
    values = torch.cat([p.detach().double().flatten() for p in model.parameters()])
    return [values.sum().item(), values.square().sum().item()]


def record(name: str) -> dict:
    """The oracle's entry for one torchvision builder name (needs torchvision)."""
    import torchvision.models

    build = getattr(torchvision.models, name)
    torch.manual_seed(0)
    model = build().eval()
    entry = {"init": init_sums(model)}
    layout = {key: list(value.shape) for key, value in model.state_dict().items()}
    model.load_state_dict(oracle_state_dict(layout))
    with torch.no_grad():
        entry["logits"] = model(oracle_images())[:, ::LOGIT_STEP].tolist()
    return entry


if __name__ == "__main__":
    torch.set_num_threads(1)
    json.dump({name: record(name) for name in sys.argv[1:]}, sys.stdout, indent=1)
    print()
