"""The data order, launcher arguments and messages of data-parallel training (no processes
started here: tests/train/test_distributed_runs.py trains on two)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.commands.launch import worker_arguments
from cnnkit.errors import ConfigError
from cnnkit.train.distributed import DataParallel, changes_with_world, rank_rows
from cnnkit.train.loop import epoch_order


@pytest.mark.parametrize(("n", "world", "batch"), [(103, 2, 8), (1000, 4, 64), (7, 3, 3)])
def test_rank_batches_are_the_global_batches_cut_in_equal_blocks(n, world, batch):
    order = epoch_order(seed=11, epoch=2, n=n, shuffle=True)
    kept = order[:n - n % world]
    local = batch // world
    parts = [rank_rows(order, rank, world, batch) for rank in range(world)]
    assert len({len(p) for p in parts}) == 1  # every rank runs as many steps
    for k in range(-(-len(kept) // batch)):
        global_batch = kept[k * batch:(k + 1) * batch]
        share = len(global_batch) // world
        for rank, part in enumerate(parts):
            mine = part[k * local:(k + 1) * local][:share]
            assert np.array_equal(mine, global_batch[rank * share:(rank + 1) * share])
    assert sorted(np.concatenate(parts).tolist()) == sorted(kept.tolist())


def test_a_run_resumed_on_another_number_of_processes_is_told_what_changes():
    assert changes_with_world(2, 2) is None
    text = changes_with_world(2, 4)
    assert "started on 2 process(es) and resumes on 4" in text
    assert "float rounding" in text and "batch-norm" in text and "n % 4" in text


def test_the_launcher_passes_on_every_argument_but_its_own():
    argv = ["train", "data/", "--nproc", "2", "--epochs", "3", "--nnodes=1",
            "--rdzv-endpoint", "host:29500", "--node-rank", "0", "-q"]
    assert worker_arguments(argv) == ["train", "data/", "--epochs", "3", "-q"]


def test_data_parallel_outside_torchrun_says_how_to_launch(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ConfigError, match="needs the processes torchrun starts") as info:
        DataParallel()
    assert "torchrun --nproc_per_node" in info.value.hint
