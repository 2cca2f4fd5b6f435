"""The machine's fp32 peak, as torch reaches it: GFLOP/s of large square matmuls.

A ``SIZE x SIZE`` matmul is ``2 * SIZE**3`` floating-point operations. Large square
matrices keep every core's vector units busy with almost no memory stalls, so this is
the practical ceiling that convolution training can be compared with. It runs on torch's
threads (all cores by default: the same threads training uses).
"""

from __future__ import annotations

import time

import torch

SIZE = 2048


class MatmulPeak:
    """One measurement of fp32 matmul GFLOP/s; call it repeatedly, between other jobs."""

    def __init__(self, size: int = SIZE, calls: int = 8):
        generator = torch.Generator().manual_seed(0)
        self.a = torch.rand(size, size, generator=generator)
        self.b = torch.rand(size, size, generator=generator)
        self.out = torch.empty(size, size)
        self.calls = calls
        self.flops = 2.0 * size**3 * calls
        torch.mm(self.a, self.b, out=self.out)  # warm-up: the BLAS picks its kernels

    def __call__(self) -> float:
        """GFLOP/s of ``calls`` matmuls."""
        start = time.perf_counter()
        for _ in range(self.calls):
            torch.mm(self.a, self.b, out=self.out)
        return self.flops / (time.perf_counter() - start) / 1e9
