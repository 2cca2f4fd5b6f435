"""The optimizers compute Keras 3's update rules: each is run against Keras's arithmetic
(keras/src/optimizers/{adam,sgd,rmsprop}.py, written out below in float64 NumPy) on the
gradients of a softmax classifier of real Fashion-MNIST images, in the regimes where
torch's own rules part from Keras's: tiny gradients (Adam's and RMSprop's epsilon) and a
learning rate that changes (SGD's momentum)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from cnnkit.data import load
from cnnkit.keras import layers, models, optimizers
from cnnkit.train.config import RunConfig
from cnnkit.workflows.setup import compile_for_run

STEPS = 12


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    data = load("fashion-mnist-mini", split="train", progress=False)
    x = torch.tensor(data.images[:64].reshape(64, -1) / 255.0, dtype=torch.float64)
    return x, torch.tensor(data.labels[:64])


def gradient(w: np.ndarray, batch, scale: float) -> np.ndarray:
    """d/dw of ``scale`` times the mean cross-entropy of a linear softmax classifier."""
    x, y = batch
    weight = torch.tensor(w, requires_grad=True)
    loss = scale * torch.nn.functional.cross_entropy(x @ weight, y)
    loss.backward()
    return weight.grad.numpy()


def keras_adam(w, g, state, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m, v = state.setdefault("m", np.zeros_like(w)), state.setdefault("v", np.zeros_like(w))
    alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    return w - m * alpha / (np.sqrt(v) + epsilon)


def keras_sgd(w, g, state, lr, t, momentum=0.9, nesterov=True, weight_decay=0.0):
    w = w - w * weight_decay * lr  # Keras 3's _apply_weight_decay, before the update
    m = state.setdefault("m", np.zeros_like(w))
    m[:] = momentum * m - lr * g
    return w + (momentum * m - lr * g if nesterov else m)


def keras_rmsprop(w, g, state, lr, t, rho=0.9, momentum=0.5, epsilon=1e-7, centered=True,
                  weight_decay=0.0):
    w = w - w * weight_decay * lr
    v = state.setdefault("v", np.zeros_like(w))
    v[:] = rho * v + (1 - rho) * g * g
    if centered:
        a = state.setdefault("a", np.zeros_like(w))
        a[:] = rho * a + (1 - rho) * g
        denominator = v - a * a + epsilon
    else:
        denominator = v + epsilon
    increment = lr * g / np.sqrt(denominator)
    m = state.setdefault("m", np.zeros_like(w))
    m[:] = momentum * m + increment
    return w - m


CASES = {  # optimizer, Keras's rule, loss scale, learning rate at each step
    "adam, tiny gradients": (lambda: optimizers.Adam(1e-3), keras_adam, 1e-6,
                             [1e-3] * STEPS),
    "adam, usual gradients": (lambda: optimizers.Adam(1e-3), keras_adam, 1.0,
                              [1e-3] * STEPS),
    "sgd nesterov, rate drops": (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                                 keras_sgd, 1.0, [0.1] * 4 + [0.01] * 4 + [0.05] * 4),
    "sgd momentum, rate 0 at the start and mid-run": (
        lambda: optimizers.SGD(0.1, momentum=0.9),
        lambda *a: keras_sgd(*a, nesterov=False), 1.0,
        [0.0, 0.1, 0.1, 0.0, 0.0, 0.05, 0.05, 0.0, 0.1, 0.1, 0.1, 0.1]),
    "sgd, decoupled weight decay": (
        lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.05),
        lambda *a: keras_sgd(*a, weight_decay=0.05), 1.0, [0.1] * STEPS),
    "rmsprop, decoupled weight decay": (
        lambda: optimizers.RMSprop(1e-3, momentum=0.5, centered=True, weight_decay=0.5),
        lambda *a: keras_rmsprop(*a, weight_decay=0.5), 1e-3, [1e-3] * STEPS),
    "rmsprop centered momentum": (
        lambda: optimizers.RMSprop(1e-3, momentum=0.5, centered=True), keras_rmsprop, 1e-3,
        [1e-3] * STEPS),
}


@pytest.mark.parametrize("name", CASES)
def test_steps_match_keras(name, batch):
    make, rule, scale, rates = CASES[name]
    start = np.random.default_rng(0).normal(0, 0.01, (784, 10))
    weight = torch.nn.Parameter(torch.tensor(start, dtype=torch.float32))
    optimizer = make()
    torch_optimizer = optimizer.build([weight])
    reference, state = start.copy(), {}
    for t, lr in enumerate(rates, start=1):
        optimizer.learning_rate = lr
        weight.grad = torch.tensor(gradient(weight.detach().double().numpy(), batch, scale),
                                   dtype=torch.float32)
        torch_optimizer.step()
        reference = rule(reference, gradient(reference, batch, scale), state, lr, t)
    moved = np.abs(reference - start).max()
    assert moved > 1e-4  # the steps did something worth comparing
    np.testing.assert_allclose(weight.detach().numpy(), reference, rtol=0, atol=moved * 1e-3)


def test_rmsprop_matches_the_keras_docstring():
    """``keras.optimizers.RMSprop`` documents: lr 0.1, var 10, loss var²/2 -> 9.683772."""
    var = torch.nn.Parameter(torch.tensor([10.0]))
    torch_optimizer = optimizers.RMSprop(learning_rate=0.1).build([var])
    var.grad = var.detach().clone()
    torch_optimizer.step()
    assert var.item() == pytest.approx(9.683772, abs=1e-6)


def test_an_rmsprop_checkpoint_of_torchs_state_resumes(batch):
    """A checkpoint written with torch's RMSprop (square_avg, momentum_buffer) resumes."""
    weight = torch.nn.Parameter(torch.zeros(784, 10))
    old = torch.optim.RMSprop([weight], lr=1e-3, alpha=0.9, eps=1e-7, momentum=0.5)
    weight.grad = torch.tensor(gradient(np.zeros((784, 10)), batch, 1.0), dtype=torch.float32)
    old.step()
    optimizer = optimizers.RMSprop(1e-3, momentum=0.5)
    optimizer.build([weight])
    optimizer.load_state(old.state_dict())
    optimizer.torch_optimizer.step()
    state = optimizer.torch_optimizer.state[weight]
    assert set(state) == {"velocity", "momentum"}
    np.testing.assert_allclose(state["velocity"].numpy(),
                               0.19 * weight.grad.numpy() ** 2, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("name", ["sgd", "rmsprop"])
def test_l2_is_torchs_weight_decay(name, batch):
    """``l2=`` (the recipes' and ``--weight-decay``'s form for SGD and RMSprop) steps as
    torch's own optimizer with ``weight_decay``: the L2 term goes through the momentum."""
    start = torch.tensor(np.random.default_rng(1).normal(0.1, 0.01, (784, 10)),
                         dtype=torch.float32)
    ours, theirs = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    if name == "sgd":
        optimizer = optimizers.SGD(0.1, momentum=0.9, nesterov=True, l2=0.05).build([ours])
        reference = torch.optim.SGD([theirs], lr=0.1, momentum=0.9, nesterov=True,
                                    weight_decay=0.05)
    else:  # Keras's epsilon sits inside the root, torch's outside: the same 1e-15 for both
        optimizer = optimizers.RMSprop(1e-3, epsilon=1e-30, l2=0.05).build([ours])
        reference = torch.optim.RMSprop([theirs], lr=1e-3, alpha=0.9, eps=1e-15,
                                        weight_decay=0.05)
    for _ in range(STEPS):
        for weight, step in ((ours, optimizer), (theirs, reference)):
            weight.grad = torch.tensor(gradient(weight.detach().double().numpy(), batch, 1.0),
                                       dtype=torch.float32)
            step.step()
    assert (ours - start).abs().max() > 1e-3
    torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-4, atol=1e-6)


def test_cli_weight_decay_is_l2_for_sgd_and_decoupled_for_adam():
    data = SimpleNamespace(train=SimpleNamespace(class_names=[str(c) for c in range(10)]))
    for name, key in (("sgd", "l2"), ("rmsprop", "l2"), ("adam", "weight_decay")):
        model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(),
                                   layers.Dense(10, activation="softmax")])
        config = RunConfig(data="fashion-mnist-mini", optimizer=name, weight_decay=1e-3)
        compile_for_run(model, config, data)
        assert model.optimizer.options[key] == 1e-3
        assert not model.optimizer.options.get("weight_decay" if key == "l2" else "l2")


def test_a_saved_sgd_config_from_before_l2_keeps_its_l2_meaning():
    """Model files saved before ``l2`` existed stored SGD's torch-form decay as weight_decay."""
    old = {"name": "sgd", "learning_rate": 0.1,
           "options": {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}}
    restored = optimizers.get(old)
    assert restored.options["l2"] == 5e-4 and not restored.options.get("weight_decay")
    new = optimizers.SGD(0.1, weight_decay=5e-4).get_config()
    assert optimizers.get(new).options["weight_decay"] == 5e-4  # today's config: as saved
