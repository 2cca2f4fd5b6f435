"""What ``predict()`` runs: the network in inference mode, compiled by ``torch.compile``
for big batches, with the compiled code kept on disk.

``torch.compile`` (TorchInductor) fuses the pooling, ReLU and softmax around oneDNN's
convolutions into generated C++ loops: about 1.24x the eager network's img/s at batch 256
on the tutorial CNNs, measured interleaved in one process (docs/performance.md). A first
layer that runs as cnnkit's own kernel (kernels/conv_pool_relu.py) stays that kernel,
between two compiled graphs.
Compiling costs 8 to 15 s per batch shape the first time and about 2 s once the compiled
code is in the on-disk cache
(``$CNNKIT_CACHE/torch-compile``, unless ``TORCHINDUCTOR_CACHE_DIR`` is set), so:

- ``jit_compile=True`` (``model.compile(..., jit_compile=True)``, ``cnnkit predict
  --compile``): full batches of at least ``COMPILE_MIN_BATCH`` images run compiled;
- ``"auto"`` (the default, as in Keras): the same once this model has predicted
  ``AUTO_COMPILE_IMAGES`` images in this process, where the compile has paid for itself;
- ``False``: never.

Small batches (one image) always run eagerly: a compiled call's guard checks cost more
than they save there; and a call on a few images runs on one thread, so a busy machine
cannot stall it (``ONE_THREAD_BELOW``). The weights are graph inputs, not constants
("freezing" is off), so training after a prediction never leaves a stale compiled copy.
If compiling fails (no C++ compiler, say), a warning names the reason and prediction goes
on eagerly.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch

from ..data.cache import cache_root
from ..errors import ConfigError
from ..thread_count import torch_threads
from ..train.batches import ArraySource
from ..train.evaluate import batch_outputs
from ..train.tta import check_tta, flip_average
from .network import Network
from .preprocess import Preprocess

COMPILE_MIN_BATCH = 32
AUTO_COMPILE_IMAGES = 50_000
MODELS_PER_PROCESS = 64
# A call on fewer images runs on one thread: a 1-image CIFAR-10 tutorial prediction took a
# median 1.3-1.9 ms on one thread against 3-68 ms on two while another process held a core
# (OpenMP threads wait on each other), and 1.2-1.7 ms against 1.7-6 ms on a quieter machine.
ONE_THREAD_BELOW = 8


def check_jit_compile(value) -> bool | str:
    """``value`` if it is a valid ``jit_compile`` setting; a ConfigError otherwise."""
    if not (isinstance(value, bool) or value == "auto"):
        raise ConfigError(f"jit_compile={value!r} is not a valid setting",
                          hint='use True, False or "auto"')
    return value


def use_compile_cache() -> None:
    """Keep TorchInductor's compiled code under cnnkit's cache (which survives reboots,
    unlike torch's default in /tmp), unless the user chose a place with
    ``TORCHINDUCTOR_CACHE_DIR``. (torch writes its default there once it has used it.)"""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    chosen = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if chosen is None or os.path.abspath(chosen) == os.path.abspath(default_cache_dir()):
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_root() / "torch-compile")


class Inference:
    """Predicts with one network, compiling it when worth it (see the module docstring).

    Only one batch size runs compiled: the first full batch compiled fixes it, and other
    sizes (``predict_on_batch`` on varied inputs, say) run eagerly instead of each paying a
    compile. The compiled code of every model lives on ``Network.forward``, whose dynamo
    cache holds ``recompile_limit`` entries (8 by default): it is raised to
    ``MODELS_PER_PROCESS`` so that many compiled models in one process (a server) all stay
    compiled.
    """

    def __init__(self, net: Network):
        self.net = net
        self.predicted = 0
        self.compiled = None  # None: not yet; False: compiling failed
        self.compiled_size: int | None = None

    def outputs(self, images: np.ndarray, preprocess: Preprocess, batch_size: int,
                jit_compile: bool | str = "auto", tta: str | None = None) -> torch.Tensor:
        """The network's outputs (after the output activation) for ``(N, H, W, C)``
        images, in order, as one float32 tensor; ``tta="flip"`` averages them with the
        mirror images' (train/tta.py)."""
        net = self.net
        if net.training:  # eval() walks every module: skip it when nothing changed
            net.eval()
        compile_now = self._wants_compiled(len(images), batch_size,
                                           check_jit_compile(jit_compile))
        threads = 1 if len(images) < ONE_THREAD_BELOW else torch.get_num_threads()

        def forward(batch: torch.Tensor) -> torch.Tensor:
            return self._forward(batch, compiled=compile_now and len(batch) == batch_size)

        activated = (flip_average(forward, net.output_activation) if check_tta(tta)
                     else lambda batch: net.output_activation(forward(batch)))
        source = ArraySource(images, None, preprocess)
        with torch_threads(threads):
            outputs = [output for output, _, _ in
                       batch_outputs(activated, source, batch_size, prefetch=0)]
        self.predicted += len(images)
        return torch.cat(outputs)

    def _wants_compiled(self, count: int, batch_size: int, jit_compile: bool | str) -> bool:
        if (self.compiled is False or batch_size < COMPILE_MIN_BATCH or count < batch_size
                or self.compiled_size not in (None, batch_size)):
            return False
        if jit_compile == "auto":
            return self.predicted + count >= AUTO_COMPILE_IMAGES
        return bool(jit_compile)

    def _forward(self, batch: torch.Tensor, compiled: bool) -> torch.Tensor:
        if not compiled or self.compiled is False:
            return self.net(batch)
        if self.compiled is None:
            use_compile_cache()
            dynamo = torch._dynamo.config
            dynamo.recompile_limit = max(dynamo.recompile_limit, MODELS_PER_PROCESS)
            self.compiled = torch.compile(self.net, dynamic=False)
            self.compiled_size = len(batch)
        try:
            return self.compiled(batch)
        except Exception as exc:  # any compiler failure means: run eagerly from now on
            reason = (str(exc).strip().splitlines() or [""])[0][:300]
            warnings.warn(f"torch.compile could not compile the model ({type(exc).__name__}: "
                          f"{reason}); predicting without it, at eager speed",
                          RuntimeWarning, stacklevel=4)
            self.compiled = False
            return self.net(batch)
