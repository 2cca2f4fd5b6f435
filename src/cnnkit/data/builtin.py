"""Built-in datasets by name: ``mnist``, ``fashion-mnist``, ``cifar10`` and the embedded
``fashion-mnist-mini``.

Where a dataset is looked for, in order:

1. ``$CNNKIT_DATA``, in the forms of :attr:`Builtin.local_forms` (for example
   ``fashion-mnist/`` IDX files, ``mnist-png.tar.gz``, ``cifar-10-binary.tar.gz``);
2. ``<cache>/datasets/<name>/``, where downloads go;
3. system folders (Debian's ``dataset-fashion-mnist`` package);
4. a download from the canonical location, checked by SHA-256. The base URL can be
   replaced with ``base_url=`` or ``$CNNKIT_DATASET_URL_<NAME>`` (``MNIST``,
   ``FASHION_MNIST``, ``CIFAR10``) to use a mirror; the hashes still apply.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import DataError
from .arrays import conform, load_npz
from .cache import cache_root
from .cifar import CIFAR10_CLASSES, load_cifar_binary
from .dataset import ImageDataset
from .download import download as fetch
from .idx import FASHION_MNIST_CLASSES, find_idx_pairs, load_idx_folder
from .tree import load_tree

DIGITS = [str(d) for d in range(10)]
MIXED_ORDER_SEED = 1337  # never change: it fixes the order of load_data()'s arrays


@dataclass(frozen=True)
class RemoteFile:
    """A file to download, with the SHA-256 digests it may have (the canonical one first;
    others are known repackagings of the same data)."""

    name: str
    sha256: tuple[str, ...]


@dataclass(frozen=True)
class Builtin:
    """A named dataset: its class names, where it is downloaded from and the local forms
    (path relative to ``$CNNKIT_DATA``, reader kind) it is recognised in."""

    name: str
    class_names: tuple[str, ...]
    url: str
    files: tuple[RemoteFile, ...]
    local_forms: tuple[tuple[str, str], ...]
    download_form: tuple[str, str]
    system_dirs: tuple[str, ...] = field(default=())

    @property
    def url_variable(self) -> str:
        """The environment variable that replaces the download base URL."""
        return "CNNKIT_DATASET_URL_" + self.name.upper().replace("-", "_")


def _idx_files(hashes: dict[str, tuple[str, ...]]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, digests) for name, digests in hashes.items())


DATASETS: dict[str, Builtin] = {
    "mnist": Builtin(
        "mnist", tuple(DIGITS), "https://ossci-datasets.s3.amazonaws.com/mnist/",
        _idx_files({
            "train-images-idx3-ubyte.gz":
                ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
            "train-labels-idx1-ubyte.gz":
                ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
            "t10k-images-idx3-ubyte.gz":
                ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
            "t10k-labels-idx1-ubyte.gz":
                ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
        }),
        local_forms=(("mnist", "idx"), ("mnist-png.tar.gz", "tree"), ("mnist-png", "tree")),
        download_form=("", "idx")),
    # Zalando's S3 files first; second, Debian's dataset-fashion-mnist package, which
    # re-compresses the same IDX bytes (identical after gunzip).
    "fashion-mnist": Builtin(
        "fashion-mnist", tuple(FASHION_MNIST_CLASSES),
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        _idx_files({
            "train-images-idx3-ubyte.gz":
                ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                 "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
            "train-labels-idx1-ubyte.gz":
                ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                 "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
            "t10k-images-idx3-ubyte.gz":
                ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                 "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
            "t10k-labels-idx1-ubyte.gz":
                ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                 "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
        }),
        local_forms=(("fashion-mnist", "idx"),),
        download_form=("", "idx"),
        system_dirs=("/usr/share/datasets/fashion-mnist",)),
    # The binary version only: the "python version" is pickled and never read.
    "cifar10": Builtin(
        "cifar10", tuple(CIFAR10_CLASSES), "https://www.cs.toronto.edu/~kriz/",
        (RemoteFile("cifar-10-binary.tar.gz",
                    ("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",)),),
        local_forms=(("cifar-10-binary.tar.gz", "cifar"), ("cifar-10-batches-bin", "cifar"),
                     ("cifar10-jpg.tar.gz", "tree"), ("cifar10-jpg", "tree")),
        download_form=("cifar-10-binary.tar.gz", "cifar")),
}

# Shipped inside the package (see scripts/make_mini_dataset.py): works offline.
EMBEDDED: dict[str, tuple[str, list[str]]] = {
    "fashion-mnist-mini": ("fashion-mnist-mini.npz", FASHION_MNIST_CLASSES),
}

BUILTIN_NAMES = (*DATASETS, *EMBEDDED)


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_BY_KEY = {_key(n): n for n in BUILTIN_NAMES}


def canonical_name(name: str) -> str | None:
    """The built-in dataset a name means (``fashion_mnist``, ``CIFAR-10``...), or None."""
    return _BY_KEY.get(_key(name))


def unknown_name_error(name: str) -> DataError:
    """A :class:`DataError` for a name that is neither a path nor a built-in dataset."""
    close = difflib.get_close_matches(name.lower(), BUILTIN_NAMES, n=1, cutoff=0.5)
    suggestion = f"did you mean {close[0]!r}? " if close else ""
    return DataError(f"{name!r} is not a file, a folder or a built-in dataset",
                     hint=f"{suggestion}built-in datasets: {', '.join(BUILTIN_NAMES)}")


def locate(name: str, *, download: bool = True, base_url: str | None = None,
           progress: bool = True) -> tuple[Path, str]:
    """Find (or download) a built-in dataset; returns its path and reader kind."""
    spec = DATASETS[name]
    searched: list[str] = []
    data_dir = os.environ.get("CNNKIT_DATA")
    if data_dir:
        for relative, kind in spec.local_forms:
            path = Path(data_dir).expanduser() / relative
            if _usable(path, kind):
                return path, kind
            searched.append(str(path))
    folder = cache_root() / "datasets" / spec.name
    target = (folder / spec.download_form[0], spec.download_form[1])
    missing = [f for f in spec.files if not (folder / f.name).is_file()]
    if not missing:
        return target
    searched.append(str(folder))
    for system_dir in spec.system_dirs:
        if _usable(Path(system_dir), "idx"):
            return Path(system_dir), "idx"
        searched.append(system_dir)
    base = base_url or os.environ.get(spec.url_variable) or spec.url
    if not download:
        raise DataError(f"dataset {spec.name!r} not found; looked in {', '.join(searched)}",
                        hint=f"set CNNKIT_DATA to a folder holding it, or allow the download "
                             f"from {base}")
    for remote in missing:
        fetch(base.rstrip("/") + "/" + remote.name, folder / remote.name, remote.sha256,
              progress=progress)
    return target


def _usable(path: Path, kind: str) -> bool:
    if kind == "idx":
        return path.is_dir() and "train" in find_idx_pairs(path)
    return path.exists()


def load_builtin_splits(name: str, *, image_size=None, channels: int | None = None,
                        cache: bool = True, progress: bool = True, download: bool = True,
                        base_url: str | None = None, mixed: bool = False
                        ) -> dict[str, ImageDataset]:
    """Every split (``train``, ``test``) of a built-in dataset, with its class names.

    A class-folder tree is read class by class; with ``mixed=True`` its images come in
    :func:`mixed_order` instead, as Keras's arrays are mixed (this copies them into memory;
    IDX and CIFAR binary files keep their own order, which is Keras's).
    """
    canonical = canonical_name(name)
    if canonical is None:
        raise unknown_name_error(name)
    if canonical in EMBEDDED:
        file_name, class_names = EMBEDDED[canonical]
        with resources.as_file(resources.files("cnnkit") / "embedded" / file_name) as path:
            datasets = load_npz(path, class_names=list(class_names))
    else:
        path, kind = locate(canonical, download=download, base_url=base_url, progress=progress)
        class_names = list(DATASETS[canonical].class_names)
        if kind == "tree":
            datasets = load_tree(path, image_size=image_size, channels=channels, cache=cache,
                                 progress=progress)
            datasets = {s: _in_class_order(d, class_names) for s, d in datasets.items()}
            if mixed:
                datasets = {s: d.subset(mixed_order(d.paths, d.labels))
                            for s, d in datasets.items()}
        elif kind == "cifar":
            datasets = load_cifar_binary(path)
        else:
            datasets = load_idx_folder(path, class_names=class_names, cache=cache)
    result = {}
    for split, dataset in datasets.items():
        dataset = conform(dataset, image_size, channels)
        dataset.name = f"{canonical}:{split}"
        result[split] = dataset
    return result


def load_builtin(name: str, split: str = "train", **options) -> ImageDataset:
    """One split of a built-in dataset; options as for :func:`load_builtin_splits`."""
    datasets = load_builtin_splits(name, **options)
    if split not in datasets:
        raise DataError(f"dataset {name!r} has no split {split!r}",
                        hint=f"available splits: {', '.join(datasets)}")
    return datasets[split]


def _in_class_order(dataset: ImageDataset, class_names: list[str]) -> ImageDataset:
    """Relabel a dataset read from class folders so labels follow ``class_names``."""
    if dataset.class_names == class_names:
        return dataset
    if sorted(dataset.class_names) != sorted(class_names):
        raise DataError(f"{dataset.name}: class folders {', '.join(dataset.class_names)} do "
                        f"not match the dataset's classes {', '.join(class_names)}",
                        hint="point CNNKIT_DATA at an unmodified copy of the dataset")
    mapping = np.array([class_names.index(c) for c in dataset.class_names])
    return ImageDataset(dataset.images, mapping[dataset.labels], list(class_names),
                        dataset.paths, dataset.name, dataset.report, dataset.original_sizes,
                        dataset.original_modes)


def mixed_order(paths: list[str], labels: np.ndarray) -> np.ndarray:
    """A fixed shuffle of images read from class folders, the same on every machine and
    call: each class's images (taken in path order) are shuffled and spread evenly over the
    whole array at random offsets, by a generator with a constant seed (NumPy's PCG64,
    whose stream is fixed). Any slice, and the last fraction ``validation_split`` holds
    out, then has every class in about its share of the whole set."""
    labels = np.asarray(labels)
    by_path = np.argsort(np.asarray(paths, dtype=str), kind="stable")
    rng = np.random.default_rng(MIXED_ORDER_SEED)
    keys = np.empty(len(by_path))
    for label in np.unique(labels):
        members = by_path[labels[by_path] == label]
        keys[members] = (rng.permutation(len(members)) + rng.random(len(members))) \
            / len(members)
    return np.argsort(keys, kind="stable")


def load_arrays(name: str, **options) -> tuple[tuple[np.ndarray, np.ndarray],
                                                tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` of a built-in dataset as in-memory arrays:
    uint8 images ``(N, H, W, C)`` and uint8 labels ``(N,)``, in a fixed mixed order
    (:func:`mixed_order`) when read from a class-folder tree."""
    datasets = load_builtin_splits(name, mixed=True, **options)
    return tuple(  # type: ignore[return-value]
        (np.ascontiguousarray(datasets[s].images), datasets[s].labels.astype(np.uint8))
        for s in ("train", "test"))
