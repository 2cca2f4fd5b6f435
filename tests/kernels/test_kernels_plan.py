"""Kernel planning (kernels/plan.py) on graphs: residual blocks take the kernels and the
pool-first order where a node's only consumer allows it, and compute what their nodes do;
a graph network trains on thread shares with the whole batch's gradient."""

import pytest
import torch

from batch_gradient import assert_same_gradient
from cnnkit import data, keras
from cnnkit.keras import layers
from cnnkit.kernels.build import KERNELS_ENV
from cnnkit.models import Model
from cnnkit.train import batch_gradients
from cnnkit.train.core_threads import CoreThreads
from cnnkit.train.loop import Trainer
from net_paths import node_by_node, outputs_and_grads
from real_batches import real_batch


def residual_net():
    """stem (ReLU conv, feeds a pool only), a block whose first conv feeds both a branch
    and the join (so it stays unpooled), a pooled ReLU conv inside the branch, and a
    pooled output stage."""
    inputs = keras.Input((28, 28, 1))
    stem = layers.Conv2D(16, 3, padding="same", activation="relu", name="stem")(inputs)
    x = layers.MaxPooling2D(name="p0")(stem)
    a = layers.Conv2D(16, 3, padding="same", activation="relu", name="a")(x)
    b = layers.Conv2D(16, 3, padding="same", activation="relu", name="b")(a)
    joined = layers.Add(name="join")([a, b])
    c = layers.Conv2D(16, 3, padding="same", activation="relu", name="c")(joined)
    pooled = layers.MaxPooling2D(name="p1")(c)
    branch = layers.Conv2D(16, 3, padding="same", activation="relu", name="d")(pooled)
    out = layers.Dense(10)(layers.Flatten()(layers.MaxPooling2D(name="p2")(branch)))
    return Model(inputs, out)


def test_the_plan_follows_the_graph():
    torch.manual_seed(0)
    net = residual_net().net
    assert net.pool_first == {"stem": "p0", "c": "p1", "d": "p2"}
    assert net.fused == {"stem", "c", "d"}  # first-layer kernel, then Winograd
    assert net.fused_relu == {"a", "b"}  # a feeds two nodes, b feeds the join


@pytest.mark.parametrize("kernels", ["1", "0"])
def test_a_planned_graph_computes_what_its_nodes_compute(monkeypatch, kernels):
    monkeypatch.setenv(KERNELS_ENV, kernels)
    torch.manual_seed(0)
    net = residual_net().net.train()
    x = real_batch()
    fast, fast_grads = outputs_and_grads(net, x, net)
    monkeypatch.setenv(KERNELS_ENV, "0")
    slow, slow_grads = outputs_and_grads(net, x, lambda t: node_by_node(net, t))
    if kernels == "0":  # pool-first alone is exact
        assert torch.equal(fast, slow)
        assert all(torch.equal(g, slow_grads[n]) for n, g in fast_grads.items())
    else:
        torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)
        for name, grad in fast_grads.items():
            want = slow_grads[name]
            torch.testing.assert_close(grad, want, rtol=1e-4,
                                       atol=1e-4 * want.abs().max().item())


def test_a_graph_trains_on_shares_with_the_whole_batch_gradient(monkeypatch):
    dataset = data.load("fashion-mnist-mini")
    x, y = dataset.images[:128], dataset.labels[:128]
    counts = []
    run = CoreThreads.map
    monkeypatch.setattr(CoreThreads, "map",
                        lambda self, job, parts: counts.append(len(parts)) or run(self, job,
                                                                                parts))

    def gradient() -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = residual_net()
        model.precision = "fp32"
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        plan = model.fit_plan(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0)
        Trainer(model, plan.task, model.precision, threads=2).run(plan)
        return [p.grad.detach().double().clone() for p in model.net.parameters()]

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        split = gradient()
        assert counts == [2]
        monkeypatch.setattr(batch_gradients, "MICRO_BATCH", 10_000)  # whole batches
        whole = gradient()
    finally:
        torch.set_num_threads(before)
    assert counts == [2]  # the whole batch ran on torch's threads
    assert_same_gradient(split, whole, "fp32")
