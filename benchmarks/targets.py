"""The targets of the "Speed" issue, checked against one run's results.

- ``fit()`` img/s: cnnkit >= 2.0x Keras-TF at batch 32 and >= 1.5x at batch 128, on both
  tutorial CNNs; cnnkit >= 1.0x the plain PyTorch loop. All three in fp32, as the targets
  were set: bf16 rows (on CPUs with native bf16) are reported, not checked.
- ``predict()`` of one image <= 0.5 ms; at batch 256, cnnkit's img/s >= the best Keras
  number (``predict`` or ``predict_on_batch``).
"""

from __future__ import annotations

FIT_OVER_KERAS = {32: 2.0, 128: 1.5}
FIT_OVER_TORCH = 1.0
LATENCY_MS = 0.5
PREDICT_OVER_BEST_KERAS = 1.0


def _check(what: str, value: float, relation: str, limit: float) -> dict:
    passed = value >= limit if relation == ">=" else value <= limit
    return {"what": what, "value": round(value, 3), "relation": relation, "limit": limit,
            "passed": passed}


def check(results: dict) -> list[dict]:
    """One entry per target that the run measured: what, value, limit, passed."""
    checks = []
    for row in results.get("train", []):
        if row["precision"] != "fp32":
            continue
        where = f"{row['model']}, batch {row['batch']}, fp32"
        if row["batch"] in FIT_OVER_KERAS:
            checks.append(_check(f"fit img/s cnnkit/Keras, {where}",
                                 row["ratios"]["cnnkit/keras"], ">=",
                                 FIT_OVER_KERAS[row["batch"]]))
        checks.append(_check(f"fit img/s cnnkit/torch loop, {where}",
                             row["ratios"]["cnnkit/torch"], ">=", FIT_OVER_TORCH))
    for row in results.get("infer", []):
        checks.append(_check(f"predict() one {row['model']} image, ms",
                             row["latency_ms"]["cnnkit predict"]["median"], "<=", LATENCY_MS))
        checks.append(_check(f"predict() img/s at batch {row['batch']} cnnkit/best Keras, "
                             f"{row['model']}", row["ratios"]["cnnkit/best keras"], ">=",
                             PREDICT_OVER_BEST_KERAS))
    return checks
