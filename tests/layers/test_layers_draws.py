"""Dropout draws from the piece's generator when the trainer gives one (layers/draws.py),
and is torch's own dropout otherwise."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnkit import data
from cnnkit.layers.draws import Dropout, current_generator, piece_generator


def images() -> torch.Tensor:
    batch = data.load("fashion-mnist-mini").images[:16]
    return torch.from_numpy(batch).permute(0, 3, 1, 2).float().div(255).add(0.01)


def test_a_piece_generator_decides_the_mask():
    x = images()
    drop = Dropout(0.5).train()
    with piece_generator(torch.Generator().manual_seed(7)):
        first = drop(x)
    with piece_generator(torch.Generator().manual_seed(7)):
        again = drop(x)
    with piece_generator(torch.Generator().manual_seed(8)):
        other = drop(x)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    kept = first != 0
    assert 0.4 < kept.float().mean().item() < 0.6
    torch.testing.assert_close(first[kept], x[kept] * 2)


def test_without_a_piece_generator_it_is_torch_dropout_on_the_global_generator():
    x = images()
    torch.manual_seed(3)
    ours = Dropout(0.3).train()(x)
    torch.manual_seed(3)
    torch.testing.assert_close(ours, F.dropout(x, 0.3, training=True), rtol=0, atol=0)
    torch.manual_seed(3)
    spatial = Dropout(0.3, spatial=True).train()(x)
    torch.manual_seed(3)
    torch.testing.assert_close(spatial, F.dropout2d(x, 0.3, training=True), rtol=0, atol=0)


def test_spatial_dropout_drops_whole_maps_and_keeps_the_layout():
    x = images().expand(-1, 8, -1, -1).contiguous(memory_format=torch.channels_last)
    with piece_generator(torch.Generator().manual_seed(1)):
        out = Dropout(0.5, spatial=True).train()(x)
    assert out.is_contiguous(memory_format=torch.channels_last)
    maps = out.flatten(2)
    dropped = (maps == 0).all(dim=2)
    assert dropped.any() and not dropped.all()
    kept = ~dropped
    torch.testing.assert_close(maps[kept], x.flatten(2)[kept] * 2)


def test_evaluation_and_rate_zero_return_the_input():
    x = images()
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0).train()(x) is x


def test_a_rate_of_one_drops_everything_without_nan():
    x = images().requires_grad_()
    with piece_generator(torch.Generator().manual_seed(0)):
        out = Dropout(1.0).train()(x)
    assert torch.equal(out, torch.zeros_like(x))
    out.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    assert torch.equal(Dropout(1.0).train()(x.detach()), torch.zeros_like(x))


def test_piece_generator_blocks_nest():
    outer, inner = torch.Generator(), torch.Generator()
    with piece_generator(outer):
        with piece_generator(inner):
            assert current_generator() is inner
        assert current_generator() is outer
    assert current_generator() is None
