"""Keras optimizers (names, arguments, defaults) that build torch optimizers.

Defaults follow Keras 3: Adam/AdamW/RMSprop use ``epsilon=1e-7``; SGD's learning rate is
0.01, the others' 0.001; AdamW's ``weight_decay`` is 0.004. ``weight_decay`` is decoupled,
as in Keras 3; SGD and RMSprop also take ``l2`` (a cnnkit extension: torch's
``weight_decay``, added to the gradient). Gradient clipping arguments
(``clipnorm``, ``clipvalue``, ``global_clipnorm``) are applied by the trainer, and so is
Keras's ``use_ema``/``ema_momentum`` (train/ema.py: a moving average of the weights that
replaces them at the end of ``fit()``).

The torch optimizers built compute Keras's update rules (train/keras_updates.py: Adam's
epsilon, SGD's momentum across rate changes, RMSprop's epsilon inside the root, decoupled
weight decay). SGD, Adam and AdamW run on torch's fused CPU kernels (one pass over all
weights per step instead of a dozen small ops per tensor); RMSprop on ``_foreach`` ops.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError
from ..naming import did_you_mean
from .ema import WeightAverage
from .keras_updates import KerasAdam, KerasAdamW, KerasRMSprop, KerasSGD


class Optimizer:
    """A Keras optimizer description; :meth:`build` makes the torch optimizer.

    ``learning_rate`` reads and writes the live torch optimizer once built, so callbacks
    written for Keras (``model.optimizer.learning_rate = 1e-4``) work unchanged.
    """

    def __init__(self, name: str, learning_rate: float, options: dict | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99):
        _check_clipping(clipnorm, clipvalue, global_clipnorm)
        if not 0.0 <= ema_momentum < 1.0:
            raise ConfigError(f"{name}: ema_momentum must be a number in [0, 1), "
                              f"got {ema_momentum!r}",
                              hint="the weight average's decay per step, e.g. 0.99 or 0.999")
        momentum = (options or {}).get("momentum", 0.0)
        if not 0.0 <= momentum <= 1.0:  # Keras raises for SGD; RMSprop's is the same kind
            raise ConfigError(f"{name}: momentum must be a number in [0, 1], got {momentum!r}",
                              hint="0 is plain gradient descent; 0.9 is usual")
        self.name = name
        self._learning_rate = float(learning_rate)
        self.options = dict(options or {})
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = bool(use_ema)
        self.ema_momentum = float(ema_momentum)
        self.ema: WeightAverage | None = None
        self.torch_optimizer: torch.optim.Optimizer | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate:g}, {self.options})"

    @property
    def learning_rate(self) -> float:
        """The current learning rate."""
        if self.torch_optimizer is not None:
            group = self.torch_optimizer.param_groups[0]
            return float(group["lr"] / group.get("lr_scale", 1.0))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = float(value)
        if self.torch_optimizer is not None:
            for group in self.torch_optimizer.param_groups:
                group["lr"] = float(value) * group.get("lr_scale", 1.0)

    def build(self, params) -> torch.optim.Optimizer:
        """Make (and remember) the torch optimizer over ``params``: tensors, or parameter
        groups (dicts) of which one may carry ``lr_scale``, a factor on the learning rate
        (discriminative learning rates: early layers learn slower while fine-tuning)."""
        self.torch_optimizer = None
        params = list(params)
        if params and isinstance(params[0], dict):
            params = [{**group, "lr": self._learning_rate * group.get("lr_scale", 1.0)}
                      for group in params]
        self.torch_optimizer = self._make(params, self._learning_rate)
        self.ema = WeightAverage(self.ema_momentum) if self.use_ema else None
        return self.torch_optimizer

    def update_average(self, weights: list[torch.Tensor]) -> None:
        """After a step: fold ``weights`` into their moving average (with ``use_ema``)."""
        if self.ema is not None:
            self.ema.update(weights)

    def finalize_variable_values(self, weights: list[torch.Tensor]) -> None:
        """Keras's end of ``fit()``: with ``use_ema``, the weights become their averages."""
        if self.ema is not None:
            self.ema.copy_to(weights)

    def load_state(self, state: dict) -> None:
        """Load a torch optimizer state (from a checkpoint) into the built optimizer.

        Checkpoints store tensors contiguous, while convolution weights are channels_last;
        the fused kernels walk a weight and its moment buffers in one memory order, so each
        buffer gets its weight's layout back (otherwise moments land on the wrong weights).
        """
        optimizer = self.torch_optimizer
        optimizer.load_state_dict(state)
        for weight, buffers in optimizer.state.items():
            for key, value in buffers.items():
                if (torch.is_tensor(value) and value.shape == weight.shape
                        and value.stride() != weight.stride()):
                    buffers[key] = torch.empty_like(weight, dtype=value.dtype).copy_(value)

    def _make(self, params, lr: float) -> torch.optim.Optimizer:
        o = self.options
        decay = o.get("weight_decay") or 0.0
        l2 = o.get("l2") or 0.0
        if self.name == "sgd":
            return KerasSGD(params, lr, o.get("momentum", 0.0), o.get("nesterov", False), decay,
                            l2)
        if self.name == "rmsprop":
            return KerasRMSprop(params, lr, o.get("rho", 0.9), o.get("momentum", 0.0),
                                o.get("epsilon", 1e-7), o.get("centered", False), decay, l2)
        betas = (o.get("beta_1", 0.9), o.get("beta_2", 0.999))
        eps = o.get("epsilon", 1e-7)
        amsgrad = o.get("amsgrad", False)
        if self.name == "adamw" or decay:
            return KerasAdamW(params, lr=lr, betas=betas, eps=eps, amsgrad=amsgrad,
                              weight_decay=decay, fused=True)
        return KerasAdam(params, lr=lr, betas=betas, eps=eps, amsgrad=amsgrad, fused=True)

    def get_config(self) -> dict:
        """JSON-ready description, as saved with a model."""
        return {"name": self.name, "learning_rate": self._learning_rate, "options": self.options,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum}


def _check_clipping(clipnorm, clipvalue, global_clipnorm) -> None:
    """Keras allows one clipping argument at most, and so does cnnkit. A clip at or below
    0 is refused too (Keras accepts it, and a negative norm then points every step uphill:
    gradient ascent), as is NaN."""
    given = {k: v for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                               ("global_clipnorm", global_clipnorm)) if v is not None}
    if len(given) > 1:
        raise ConfigError(f"only one of clipnorm, clipvalue and global_clipnorm can be set; "
                          f"got {', '.join(f'{k}={v}' for k, v in given.items())}",
                          hint="keep the one you mean (as Keras requires)")
    for key, value in given.items():
        if not value > 0:
            raise ConfigError(f"{key} must be a number greater than 0, got {value!r}",
                              hint=f"{key} is the largest {_CLIPPED[key]} kept (e.g. 1.0); "
                                   "leave it out not to clip")


_CLIPPED = {"clipnorm": "norm of each weight's gradient",
            "clipvalue": "absolute value of a gradient entry",
            "global_clipnorm": "norm of all the gradients together"}


def _keras_optimizer(name: str, default_lr: float, **defaults):
    """Make a Keras-style optimizer class with ``name`` and defaults."""

    def __init__(self, learning_rate: float = default_lr, *, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, **kwargs):
        unknown = set(kwargs) - set(defaults) - {"name", "loss_scale_factor",
                                                  "gradient_accumulation_steps"}
        if unknown:
            raise ConfigError(f"{cls_name}: unknown argument(s) {sorted(unknown)}",
                              hint=f"valid: learning_rate, {', '.join(defaults)}, use_ema, "
                                   "ema_momentum, clipnorm, clipvalue, global_clipnorm")
        options = {**defaults, **{k: v for k, v in kwargs.items() if k in defaults}}
        Optimizer.__init__(self, name, float(learning_rate), options, clipnorm, clipvalue,
                           global_clipnorm, use_ema, ema_momentum)

    cls_name = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}[name]
    return type(cls_name, (Optimizer,), {"__init__": __init__,
                                         "__doc__": f"``keras.optimizers.{cls_name}``."})


SGD = _keras_optimizer("sgd", 0.01, momentum=0.0, nesterov=False, weight_decay=None,
                       l2=None)
RMSprop = _keras_optimizer("rmsprop", 0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                           centered=False, weight_decay=None, l2=None)
Adam = _keras_optimizer("adam", 0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                        weight_decay=None)
AdamW = _keras_optimizer("adamw", 0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                         epsilon=1e-7, amsgrad=False)

_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get(optimizer: str | Optimizer | dict) -> Optimizer:
    """An :class:`Optimizer` from a Keras name, an optimizer object or a saved config."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, dict):
        options = dict(optimizer.get("options") or {})
        if optimizer.get("name") in ("sgd", "rmsprop") and "l2" not in options:
            # saved before l2 existed (2026-12-06), when their weight_decay was torch's form
            options["l2"] = options.pop("weight_decay", None)
        return Optimizer(**{**optimizer, "options": options})
    key = str(optimizer).lower()
    if key not in _BY_NAME:
        raise ConfigError(f"unknown optimizer {optimizer!r}", hint=did_you_mean(key, _BY_NAME))
    return _BY_NAME[key]()
