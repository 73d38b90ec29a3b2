"""Data sets: the 12-bit generator and loader, digits, MNIST idx files, the split."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from conftest import VAR_U_MISSING, VAR_U_PATH

pytest.importorskip("torch")
from ibfast.data import (
    VAR_U_SHA256,
    all_patterns,
    generate,
    load_digits,
    load_mnist,
    load_var_u,
    split_indices,
)
from ibfast.data.twelve_bit import icosahedron_vertices


def test_all_patterns_are_the_4096_distinct_12_bit_codes():
    x = all_patterns()
    assert x.shape == (4096, 12) and x.dtype == np.float32
    codes = (x.astype(int) * (1 << np.arange(11, -1, -1))).sum(1)
    np.testing.assert_array_equal(codes, np.arange(4096))


def test_generator_is_deterministic_and_balanced():
    a, b, c = generate(3), generate(3), generate(4)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    for seed in range(6):
        assert 0.45 <= generate(seed).y.mean() <= 0.55
    assert a.n_classes == 2 and a.meta["generator_seed"] == 3


def _vertex_permutation(rotation: np.ndarray) -> np.ndarray:
    v = icosahedron_vertices()
    rotated = v @ rotation.T
    perm = np.argmin(np.linalg.norm(rotated[:, None, :] - v[None, :, :], axis=2), axis=1)
    np.testing.assert_allclose(rotated, v[perm], atol=1e-9)  # really a symmetry
    return perm


def test_generator_labels_are_rotation_invariant():
    """Spherical symmetry: rotating the 12 points (a 5-fold turn about a vertex) keeps labels."""
    v = icosahedron_vertices()
    axis = v[0]
    angle = 2 * np.pi / 5
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    perm = _vertex_permutation(rotation)
    assert not np.array_equal(perm, np.arange(12))
    d = generate(1)
    x = d.x.astype(int)
    # pattern x moved by the rotation: bit perm[i] of the new pattern is bit i of the old
    moved = np.zeros_like(x)
    moved[:, perm] = x
    index = (moved * (1 << np.arange(11, -1, -1))).sum(1)
    np.testing.assert_array_equal(d.y[index], d.y)


@pytest.mark.skipif(not VAR_U_PATH.is_file(), reason=VAR_U_MISSING)
def test_var_u_loader_checks_hash_and_shape(tmp_path):
    d = load_var_u(VAR_U_PATH)
    assert d.x.shape == (4096, 12) and d.y.shape == (4096,)
    assert d.meta["sha256"] == VAR_U_SHA256
    assert set(np.unique(d.y)) == {0, 1}
    # The stored order is sorted by pattern: the unshuffled split is skewed (a known pitfall).
    train, test = split_indices(4096, 0.8, shuffle=False)
    assert d.y[train].mean() == pytest.approx(0.437, abs=0.002)
    assert d.y[test].mean() == pytest.approx(0.836, abs=0.002)
    altered = tmp_path / "var_u.mat"
    shutil.copy(VAR_U_PATH, altered)
    with open(altered, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ValueError, match="sha256"):
        load_var_u(altered)


def test_var_u_loader_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no 12-bit data file"):
        load_var_u(tmp_path / "nope.mat")


def _idx(path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_loader_reads_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    tr_x, te_x = rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 256, (3, 28, 28))
    tr_y, te_y = rng.integers(0, 10, 7), rng.integers(0, 10, 3)
    _idx(tmp_path / "train-images-idx3-ubyte", tr_x, compress)
    _idx(tmp_path / "train-labels-idx1-ubyte", tr_y, compress)
    _idx(tmp_path / "t10k-images-idx3-ubyte", te_x, compress)
    _idx(tmp_path / "t10k-labels-idx1-ubyte", te_y, compress)
    d = load_mnist(tmp_path)
    assert d.x.shape == (10, 784) and d.meta["n_official_train"] == 7
    np.testing.assert_allclose(d.x[:7], tr_x.reshape(7, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y, np.concatenate([tr_y, te_y]))


def test_mnist_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_mnist(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x0d\x03")
    for name in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        _idx(tmp_path / name, np.zeros((2, 2, 2) if "images" in name else (2,)), False)
    with pytest.raises(ValueError, match="not an unsigned-byte idx file"):
        load_mnist(tmp_path)


def test_digits():
    pytest.importorskip("sklearn")
    d = load_digits()
    assert d.x.shape == (1797, 64) and d.n_classes == 10
    assert d.x.min() == 0.0 and d.x.max() == 1.0


def test_split_sizes_and_order():
    train, test = split_indices(4096, 0.8, shuffle=False)
    assert (train.size, test.size) == (3277, 819)
    np.testing.assert_array_equal(train, np.arange(3277))
    a, b = split_indices(4096, 0.8, shuffle=True, seed=1)
    np.testing.assert_array_equal(np.sort(np.concatenate([a, b])), np.arange(4096))
    np.testing.assert_array_equal(a, split_indices(4096, 0.8, shuffle=True, seed=1)[0])
    assert not np.array_equal(a, split_indices(4096, 0.8, shuffle=True, seed=2)[0])
    with pytest.raises(ValueError, match="train_fraction"):
        split_indices(10, 1.0)
    with pytest.raises(ValueError, match="empty"):
        split_indices(3, 0.1)
