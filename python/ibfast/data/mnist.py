"""MNIST from the four idx files in a local folder (plain or .gz); nothing is downloaded."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .dataset import Dataset

_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """An idx file (big-endian header: 0, 0, type 0x08 = ubyte, rank; then dims) as uint8."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte idx file")
    rank = data[3]
    header = 4 + 4 * rank
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    if len(data) - header != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} but the file holds {len(data) - header} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no {stem}[.gz] in {folder}")


def load_mnist(folder: str | Path) -> Dataset:
    """All 70000 images, the 60000 training ones first (so an ordered 6/7 split is the official
    one); pixels scaled to [0, 1] as 784 inputs, labels 0..9."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"MNIST folder {root} does not exist")
    parts = {k: read_idx(_find(root, v)) for k, v in _FILES.items()}
    images = np.concatenate([parts["train_images"], parts["test_images"]])
    labels = np.concatenate([parts["train_labels"], parts["test_labels"]])
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"MNIST in {root}: {images.shape[0]} images but {labels.shape[0]} labels")
    x = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
    return Dataset("mnist", x, labels.astype(np.int64), 10,
                   {"source": str(root), "n_official_train": int(parts["train_images"].shape[0])})
