"""torch optimizers that compute Keras 3's update rules, not torch's look-alikes.

torch's SGD, Adam and RMSprop differ from Keras's in small ways that add up to a silent
difference in every weight (Keras source: ``keras/src/optimizers/*.py``):

- **Adam/AdamW epsilon.** Keras divides by ``sqrt(v) + epsilon`` and puts both bias
  corrections in the step size; torch divides by ``sqrt(v) / sqrt(1 - beta_2^t) + eps``. So
  before each step the group's ``eps`` is set to ``epsilon / sqrt(1 - beta_2^t)``, which
  makes torch's fused kernel compute Keras's number.
- **SGD momentum.** Keras keeps the learning rate inside the velocity
  (``m = momentum * m - lr * g``), torch outside (``b = momentum * b + g``, step ``lr * b``):
  equal while the rate is constant, different after every change of it (a schedule,
  ReduceLROnPlateau). The buffers are rescaled by ``old_lr / new_lr`` when the rate moves.
- **RMSprop.** Keras adds epsilon inside the square root (``g / sqrt(v + epsilon)``), torch
  outside (``g / (sqrt(v) + eps)``): with Keras's epsilon of 1e-7, a gradient of 1e-4 steps
  3x further in torch's. :class:`KerasRMSprop` is Keras's arithmetic on torch's ``_foreach``
  ops.
- **weight_decay** is decoupled in Keras 3 for every optimizer (``w -= lr * decay * w``
  before the step); torch's SGD and RMSprop add it to the gradient. SGD and RMSprop here
  decay as Keras does (Adam with a decay is torch's AdamW, which already does), and take
  torch's form as ``l2`` (a cnnkit extension: ``cnnkit train --weight-decay`` with SGD and
  the recipes use it, ``l2 * w`` added to every gradient, so it also feeds the momentum).
"""

from __future__ import annotations

import math

import torch


def decay_weights(optimizer: torch.optim.Optimizer, group: dict) -> None:
    """Keras 3's decoupled weight decay, before the step: ``w -= lr * weight_decay * w`` for
    the group's weights that have a gradient; not on a step a gradient scaler skips (it
    found an infinite gradient: ``found_inf``, set on fused optimizers)."""
    decay = group.get("decoupled_decay") or 0.0
    params = [p for p in group["params"] if p.grad is not None]
    found_inf = getattr(optimizer, "found_inf", None)
    if decay and params and not (found_inf is not None and bool(found_inf)):
        torch._foreach_mul_(params, 1.0 - group["lr"] * decay)


class KerasSGD(torch.optim.SGD):
    """torch's fused SGD with Keras's momentum (the rate inside the velocity) and Keras's
    decoupled ``weight_decay``; ``l2`` is torch's ``weight_decay``."""

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, l2: float = 0.0):
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=l2,
                         fused=True)
        for group in self.param_groups:
            group["decoupled_decay"] = weight_decay

    def _buffers(self, group: dict) -> tuple[list, list]:
        """The group's weights that have a momentum buffer, and those buffers."""
        pairs = [(p, self.state[p]["momentum_buffer"]) for p in group["params"]
                 if self.state[p].get("momentum_buffer") is not None]
        return [p for p, _ in pairs], [b for _, b in pairs]

    def _coast(self, group: dict) -> None:
        """A step at learning rate 0, as Keras takes it: the velocity decays and still moves
        the weights (``m = momentum m``; ``w += m``, Nesterov ``w += momentum m``); torch's
        would add the gradient to its buffer and leave the weights."""
        params, buffers = self._buffers(group)
        previous = group.get("previous_lr")
        if group["momentum"] and buffers and previous:  # b = -m / previous
            torch._foreach_mul_(buffers, group["momentum"])
            scale = group["momentum"] if group["nesterov"] else 1.0
            torch._foreach_add_(params, buffers, alpha=-previous * scale)

    @torch.no_grad()
    def step(self, closure=None):
        """Rescale the velocities to a changed learning rate, decay, then torch's step
        (groups at rate 0 coast as in Keras instead)."""
        coasting = []
        for group in self.param_groups:
            lr, previous = group["lr"], group.get("previous_lr", group["lr"])
            if lr == 0:
                self._coast(group)
                coasting += [(p, p.grad) for p in group["params"] if p.grad is not None]
                continue
            if group["momentum"] and lr != previous:
                _, buffers = self._buffers(group)
                if buffers:  # b = -m / lr: the same Keras velocity m at the new rate
                    torch._foreach_mul_(buffers, previous / lr)
            group["previous_lr"] = lr
            decay_weights(self, group)
        for param, _ in coasting:  # torch's step leaves a weight without a gradient alone
            param.grad = None
        try:
            return super().step(closure)
        finally:
            for param, grad in coasting:
                param.grad = grad


class _KerasEpsilon:
    """Mixin for torch's Adam and AdamW: each step's ``eps`` is Keras's epsilon divided by
    ``sqrt(1 - beta_2^t)``, so the fused kernel divides by Keras's ``sqrt(v) + epsilon``."""

    def step(self, closure=None):
        """Set the group's eps for the step about to be taken, then torch's step."""
        for group in self.param_groups:
            epsilon = group.setdefault("keras_epsilon", group["eps"])
            taken = next((self.state[p].get("step") for p in group["params"]
                          if p.grad is not None and self.state[p].get("step") is not None), 0)
            group["eps"] = epsilon / math.sqrt(1.0 - group["betas"][1] ** (float(taken) + 1))
        return super().step(closure)


class KerasAdam(_KerasEpsilon, torch.optim.Adam):
    """torch's fused Adam with Keras's epsilon."""


class KerasAdamW(_KerasEpsilon, torch.optim.AdamW):
    """torch's fused AdamW with Keras's epsilon."""


class KerasRMSprop(torch.optim.Optimizer):
    """``keras.optimizers.RMSprop``'s update on torch tensors: ``v = rho v + (1 - rho) g²``,
    step ``lr g / sqrt(v + epsilon)`` (centered: ``v - a² + epsilon``, ``a`` the moving mean
    of the gradients), through a momentum ``m = momentum m + step`` when momentum > 0.
    ``weight_decay`` decays decoupled, as Keras; ``l2`` adds ``l2 * w`` to the gradient
    (torch's form)."""

    def __init__(self, params, lr: float, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: float = 0.0,
                 l2: float = 0.0):
        super().__init__(params, {"lr": lr, "rho": rho, "momentum": momentum,
                                  "epsilon": epsilon, "centered": centered,
                                  "decoupled_decay": weight_decay, "l2": l2})

    def _state(self, param: torch.Tensor, group: dict) -> dict:
        """The parameter's velocity (and momentum, moving gradient), made on first use."""
        state = self.state[param]
        if "velocity" not in state:
            state["velocity"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            if group["momentum"] > 0:
                state["momentum"] = torch.zeros_like(param,
                                                     memory_format=torch.preserve_format)
            if group["centered"]:
                state["average_gradient"] = torch.zeros_like(
                    param, memory_format=torch.preserve_format)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state; one of torch's RMSprop (checkpoints of cnnkit before 2026-12) has
        the same moments under other names, and its momentum without the learning rate."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group.setdefault("rho", group.pop("alpha", 0.9))
            group.setdefault("epsilon", group.pop("eps", 1e-7))
            group.setdefault("l2", group.pop("weight_decay", 0.0))  # torch's was L2
            for param in group["params"]:
                state = self.state[param]
                renames = (("square_avg", "velocity"), ("grad_avg", "average_gradient"))
                for old, new in renames:
                    if old in state:
                        state[new] = state.pop(old)
                if "momentum_buffer" in state:
                    state["momentum"] = state.pop("momentum_buffer") * group["lr"]
                state.pop("step", None)

    @torch.no_grad()
    def step(self, closure=None):
        """One Keras RMSprop step for every weight with a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            if group.get("l2"):
                grads = torch._foreach_add(grads, params, alpha=group["l2"])
            decay_weights(self, group)
            states = [self._state(p, group) for p in params]
            rho, velocities = group["rho"], [s["velocity"] for s in states]
            torch._foreach_mul_(velocities, rho)
            torch._foreach_addcmul_(velocities, grads, grads, value=1.0 - rho)
            if group["centered"]:
                averages = [s["average_gradient"] for s in states]
                torch._foreach_mul_(averages, rho)
                torch._foreach_add_(averages, grads, alpha=1.0 - rho)
                denominators = torch._foreach_addcmul(velocities, averages, averages, value=-1)
                torch._foreach_add_(denominators, group["epsilon"])
            else:
                denominators = torch._foreach_add(velocities, group["epsilon"])
            torch._foreach_sqrt_(denominators)
            steps = torch._foreach_div(grads, denominators)
            torch._foreach_mul_(steps, group["lr"])
            if group["momentum"] > 0:
                momenta = [s["momentum"] for s in states]
                torch._foreach_mul_(momenta, group["momentum"])
                torch._foreach_add_(momenta, steps)
                steps = momenta
            torch._foreach_sub_(params, steps)
        return loss
