"""The 12-bit task of Shwartz-Ziv & Tishby (2017): all 4096 binary patterns, binary labels.

Two sources: a user's ``var_u.mat`` (checked by its sha256), or a built-in generator of the same
kind of task so that everything runs offline with no file. The package holds no copy of the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .dataset import Dataset

VAR_U_SHA256 = "0ba9551878a855396a8de0cbaae620788ede1e7b1eb2b8373bbe017d5ea02036"


def all_patterns() -> np.ndarray:
    """The 4096 patterns of 12 bits, in binary counting order, most significant bit first."""
    codes = np.arange(4096)
    return ((codes[:, None] >> np.arange(11, -1, -1)) & 1).astype(np.float32)


def icosahedron_vertices() -> np.ndarray:
    """The 12 vertices of a regular icosahedron on the unit sphere: 12 uniformly spread points."""
    phi = (1.0 + 5.0**0.5) / 2.0
    v = []
    for a in (-1.0, 1.0):
        for b in (-phi, phi):
            v += [(0.0, a, b), (a, b, 0.0), (b, 0.0, a)]
    vertices = np.array(v)
    return vertices / np.linalg.norm(vertices, axis=1, keepdims=True)


def generate(seed: int = 0) -> Dataset:
    """A 12-bit task like Shwartz-Ziv & Tishby's: bit i marks vertex i of an icosahedron, and the
    label is a thresholded spherically symmetric function of the marked points.

    f(x) = a |x| + sum_{i<j} x_i x_j k(v_i . v_j), with a and k (a value for each of the three
    inner products between distinct vertices) drawn from the seed; f depends on the points only
    through their inner products, so it is invariant under rotations. The threshold is the value
    of f that makes the fraction of ones closest to one half. Deterministic given ``seed``.
    """
    rng = np.random.default_rng(seed)
    x = all_patterns()
    v = icosahedron_vertices()
    dots = np.round(v @ v.T, 6)
    levels = np.unique(dots[~np.eye(12, dtype=bool)])  # -1, -1/sqrt5, 1/sqrt5
    k = dict(zip(levels.tolist(), rng.standard_normal(levels.size).tolist(), strict=True))
    kernel = np.vectorize(k.get)(np.where(np.eye(12, dtype=bool), levels[0], dots))
    np.fill_diagonal(kernel, 0.0)
    xd = x.astype(np.float64)
    f = rng.standard_normal() * xd.sum(1) + 0.5 * np.einsum("ni,ij,nj->n", xd, kernel, xd)
    f = np.round(f, 9)  # equal orbits must give equal values despite summation order
    candidates = np.unique(f)
    balance = np.array([(f > t).mean() for t in candidates])
    threshold = candidates[np.argmin(np.abs(balance - 0.5))]
    y = (f > threshold).astype(np.int64)
    return Dataset("twelve_bit", x, y, 2, {"source": "generator", "generator_seed": seed})


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_var_u(path: str | Path, check_hash: bool = True) -> Dataset:
    """The original 12-bit data from ``var_u.mat`` (F: 4096 x 12 patterns, y: 1 x 4096 labels).

    The labels are kept as class indices y (the original code one-hot encoded them as [y, 1-y],
    so its argmax class 0 meant y = 1). The file's rows are sorted by bit pattern.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no 12-bit data file at {p}")
    digest = sha256_of(p)
    if check_hash and digest != VAR_U_SHA256:
        raise ValueError(
            f"{p} is not the 12-bit var_u.mat: sha256 {digest} != {VAR_U_SHA256} "
            "(pass check_hash=False to load a modified copy)"
        )
    from scipy.io import loadmat

    mat = loadmat(p)
    if "F" not in mat or "y" not in mat:
        raise ValueError(f"{p} has no F and y variables (found {sorted(mat)})")
    x = np.asarray(mat["F"], dtype=np.float32)
    y = np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if x.shape != (4096, 12) or y.shape != (4096,):
        raise ValueError(f"{p}: expected F 4096 x 12 and y of 4096, got {x.shape} and {y.shape}")
    return Dataset("twelve_bit", np.ascontiguousarray(x), y, 2,
                   {"source": str(p), "sha256": digest})
