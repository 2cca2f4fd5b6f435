"""Make ``src/cnnkit/embedded/fashion-mnist-mini.npz``, the dataset that ships in the package.

A stratified, seeded slice of the real Fashion-MNIST: 500 training and 100 test images per
class (5,000 + 1,000), drawn without replacement with a fixed seed and kept in their
original order. Keys ``x_train, y_train, x_test, y_test`` (uint8, Keras shapes), written
with ``np.savez_compressed``. Running it again on the same files gives the same arrays.

    python scripts/make_mini_dataset.py [FASHION_MNIST_IDX_FOLDER] [--out PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cnnkit.data.idx import load_idx_folder

REPO = Path(__file__).resolve().parent.parent
SOURCES = (REPO.parent / "shared" / "data" / "fashion-mnist",
           Path("/usr/share/datasets/fashion-mnist"))
OUT = REPO / "src" / "cnnkit" / "embedded" / "fashion-mnist-mini.npz"
PER_CLASS = {"train": 500, "test": 100}
SEED = 20170828  # Fashion-MNIST's release date
MAX_BYTES = 5 * 1024 * 1024


def stratified(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` random indices of every class, sorted back into file order."""
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
             for c in range(int(labels.max()) + 1)]
    return np.sort(np.concatenate(picks))


def main() -> None:
    """Build the file and print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path,
                        default=next((s for s in SOURCES if s.is_dir()), SOURCES[0]),
                        help="folder with the four Fashion-MNIST IDX files")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    datasets = load_idx_folder(args.source)
    rng = np.random.default_rng(SEED)
    arrays = {}
    for split, per_class in PER_CLASS.items():
        dataset = datasets[split]
        index = stratified(dataset.labels, per_class, rng)
        arrays[f"x_{split}"] = np.ascontiguousarray(dataset.images[index, :, :, 0])
        arrays[f"y_{split}"] = dataset.labels[index].astype(np.uint8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    size = args.out.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size:,} bytes, over the {MAX_BYTES:,}-byte budget")
    shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
    print(f"wrote {args.out} ({size:,} bytes): {shapes}")


if __name__ == "__main__":
    main()
