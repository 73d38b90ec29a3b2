"""The fused binned entropy (bin, hash and count in one pass, no code matrix) against the two passes.

``_dispatch.binned_row_entropy_nats`` must give bit for bit the h, h_given and n_distinct of
``kernels.bin_by_edges`` / ``kernels.bin_by_width`` followed by ``kernels.distinct_row_entropy``,
for every binning method of the kernel: up to 32 edges (AVX-512 permute search), up to 64
(counting), more (scalar binary search) and widths; rows shorter and longer than a 16-value block;
with 0, 1 and 2 groupings; and with hashes truncated to a few bits, which makes different rows
share a hash and sends them through the verification and the exact regrouping.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BINNING, KINDS, activations, labels_for, repeated_input_ids

import ibfast
from ibfast import _core, kernels, reference
from ibfast._dispatch import binned_row_entropy_nats, group_ids_like, intake
from ibfast.estimators.binning import BinningEstimator

EDGE_COUNTS = (1, 2, 30, 31, 32, 33, 64, 65, 300)
SHAPES = [(1, 1), (5, 1), (200, 1), (300, 2), (257, 15), (257, 16), (257, 17), (100, 33), (64, 1000),
          (3000, 3)]


def two_pass(t, edges, width, groupings):
    codes = kernels.bin_by_edges(t, edges) if width is None else kernels.bin_by_width(t, width)
    r = kernels.distinct_row_entropy(codes, *groupings, units="nats")
    return r.h, list(r.h_given), r.n_distinct


def fused(t, edges, width, groupings, hash_bits=64):
    x = intake(t)
    ids, sizes = [], []
    for g in groupings:
        gid, size = group_ids_like(g, x)
        ids.append(gid)
        sizes.append(size)
    e = None if edges is None else np.asarray(edges, dtype=np.float64)
    return binned_row_entropy_nats(x, e, width, ids, sizes, hash_bits=hash_bits)


def edges_for(t, n_edges, rng):
    """n_edges sorted edges spread over (a little beyond) the values, some of them repeated."""
    lo, hi = float(t.min()), float(t.max())
    pad = 0.1 * (hi - lo) + 1e-3
    e = np.sort(rng.uniform(lo - pad, hi + pad, n_edges))
    if n_edges >= 4:
        e[n_edges // 2] = e[n_edges // 2 - 1]  # a repeated edge: an empty bin
    return e


def groupings_for(n_groupings, n, rng):
    g = []
    if n_groupings >= 1:
        g.append(labels_for("ten", n, rng))
    if n_groupings >= 2:
        g.append(repeated_input_ids(n, rng))
    return g


def assert_same(got, want):
    h, h_given, k = got
    assert k == want[2]
    assert h == want[0]  # bit for bit
    assert h_given == want[1]


@pytest.mark.parametrize("n_edges", EDGE_COUNTS)
@pytest.mark.parametrize("kind", KINDS)
def test_fused_edges_equal_the_two_passes_bit_for_bit(kind, n_edges):
    rng = np.random.default_rng(n_edges)
    for n, d in SHAPES:
        t = activations(kind, n, d, rng)
        edges = edges_for(t, n_edges, rng)
        for n_groupings in (0, 1, 2):
            g = groupings_for(n_groupings, n, rng)
            assert_same(fused(t, edges, None, g), two_pass(t, edges, None, g))


@pytest.mark.parametrize("width", [0.07, 0.5, 3.0, 40.0])
@pytest.mark.parametrize("kind", KINDS)
def test_fused_width_equals_the_two_passes_bit_for_bit(kind, width):
    rng = np.random.default_rng(7)
    for n, d in SHAPES:
        t = activations(kind, n, d, rng)
        for n_groupings in (0, 1, 2):
            g = groupings_for(n_groupings, n, rng)
            assert_same(fused(t, None, width, g), two_pass(t, None, width, g))


@pytest.mark.parametrize("n_edges", [2, 30, 64, 65])
@pytest.mark.parametrize("kind", ["gauss", "relu", "tanh_sat", "few"])
def test_fused_agrees_with_the_reference(kind, n_edges):
    rng = np.random.default_rng(3)
    t = activations(kind, 1500, 6, rng)
    edges = edges_for(t, n_edges, rng)
    y = labels_for("unbalanced", 1500, rng)
    h, (h_y,), k = fused(t, edges, None, [y])
    codes = reference.bin_by_edges(t, edges)
    assert k == len(np.unique(codes, axis=0))
    assert h == pytest.approx(reference.entropy_of_rows(codes, units="nats"), abs=1e-12)
    assert h_y == pytest.approx(reference.conditional_entropy_of_rows(codes, y, units="nats"), abs=1e-12)


@pytest.mark.parametrize("hash_bits", [1, 3, 8, 20])
@pytest.mark.parametrize("method", ["edges30", "edges64", "edges300", "width"])
def test_truncated_hashes_collide_and_are_still_exact(method, hash_bits):
    """With a few hash bits most distinct rows share a hash with another: the verification must
    catch every such pair, and the exact regrouping must give the full hash's numbers."""
    rng = np.random.default_rng(hash_bits)
    n_edges = {"edges30": 30, "edges64": 64, "edges300": 300}.get(method)
    width = 0.25 if method == "width" else None
    for kind, n, d in [("few", 800, 3), ("gauss", 600, 20), ("tanh_sat", 400, 40), ("binary", 700, 9)]:
        t = activations(kind, n, d, rng)
        edges = None if n_edges is None else edges_for(t, n_edges, rng)
        g = groupings_for(2, n, rng)
        want = two_pass(t, edges, width, g)
        full = fused(t, edges, width, g)
        assert_same(full, want)
        assert_same(fused(t, edges, width, g, hash_bits=hash_bits), want)


def test_rows_that_differ_in_one_code_anywhere_are_never_merged():
    """Rows equal but for one code, in a full 16-value block, in the tail, at either end; and rows
    whose floats differ but whose codes are equal (merged), also with -0.0 against 0.0."""
    d = 37  # two full blocks and a tail of 5
    edges = np.linspace(-1.0, 1.0, 30)
    base = np.linspace(-0.9, 0.9, d).astype(np.float32)
    rows = [base.copy()]
    for j in (0, 5, 15, 16, 31, 32, 36):
        r = base.copy()
        r[j] += np.float32(0.5)  # moves the value into another bin
        rows.append(r)
    same_codes = base.copy()
    same_codes[3] = np.nextafter(same_codes[3], np.float32(2))  # another float, the same bin
    same_codes[34] = np.nextafter(same_codes[34], np.float32(-2))
    rows.append(same_codes)
    zeros = np.zeros(d, np.float32)
    neg_zeros = np.full(d, -0.0, np.float32)
    rows += [zeros, neg_zeros]
    t = np.ascontiguousarray(np.stack(rows * 3))
    codes = kernels.bin_by_edges(t, edges)
    assert len(np.unique(codes, axis=0)) == 9  # base == same_codes, zeros == neg_zeros
    for bits in (64, 1):
        got = fused(t, edges, None, [np.arange(len(t)) % 4], hash_bits=bits)
        assert got[2] == 9
        assert_same(got, two_pass(t, edges, None, [np.arange(len(t)) % 4]))


def thresholds(edges):
    """The least float32 >= each edge: the values where the codes step up."""
    f = edges.astype(np.float32)
    return np.where(f.astype(np.float64) < edges, np.nextafter(f, np.float32(np.inf)), f)


@pytest.mark.parametrize("n_edges", [1, 2, 30, 31, 32, 33, 50, 64, 65, 300])
@pytest.mark.parametrize("d", [1, 16, 21])
def test_values_on_and_beside_the_edges_follow_the_float64_comparison(n_edges, d):
    """One row per probe value (repeated across the row): just below, on and just above each
    step of the codes. Whether two probes share a row of codes decides n_distinct, so a code off
    by one at an edge changes the count."""
    rng = np.random.default_rng(n_edges)
    edges = np.sort(rng.uniform(-2.0, 2.0, n_edges))
    if n_edges == 30:
        edges = np.linspace(-1.0, 1.0, 30)  # not float32 numbers: the rounding matters
    t32 = thresholds(edges)
    down, up = np.nextafter(t32, np.float32(-np.inf)), np.nextafter(t32, np.float32(np.inf))
    probes = np.concatenate([down, t32, up, edges.astype(np.float32)])
    t = np.ascontiguousarray(np.repeat(probes[:, None], d, axis=1))
    t[::2, d // 2] = t[::2, d // 2][::-1]  # some rows mix probes
    codes = reference.bin_by_edges(t, edges)
    y = np.arange(len(t)) % 3
    got = fused(t, edges, None, [y])
    assert got[2] == len(np.unique(codes, axis=0))
    assert_same(got, two_pass(t, edges, None, [y]))
    assert got[0] == pytest.approx(reference.entropy_of_rows(codes, units="nats"), abs=1e-12)


@pytest.mark.parametrize("width", [0.07, 0.5, 1.0 / 3.0, 1e-6])
@pytest.mark.parametrize("d", [1, 16, 21])
def test_values_on_and_beside_multiples_of_the_width(width, d):
    """Near every step of floor(t / width), for negative and positive codes; width 1e-6 puts the
    codes near +-2^31 (the vectorised floor truncates and corrects: exact only if done right)."""
    k = np.arange(-40, 41, dtype=np.float64)
    if width == 1e-6:
        k = np.concatenate([k, np.linspace(-2.1e9, 2.1e9, 41).round()])
    m = (k * width).astype(np.float32)
    probes = np.concatenate([np.nextafter(m, np.float32(-np.inf)), m, np.nextafter(m, np.float32(np.inf))])
    t = np.ascontiguousarray(np.repeat(probes[:, None], d, axis=1))
    codes = reference.bin_by_width(t, width)
    got = fused(t, None, width, [])
    assert got[2] == len(np.unique(codes, axis=0))
    assert_same(got, two_pass(t, None, width, []))


def test_all_values_below_and_above_the_edges():
    rng = np.random.default_rng(0)
    t = activations("gauss", 500, 20, rng)
    for edges in (np.array([100.0]), np.array([-100.0]), np.array([-100.0, 100.0]), np.full(40, 0.0)):
        assert_same(fused(t, edges, None, []), two_pass(t, edges, None, []))


def test_a_large_layer_in_parallel_with_duplicates():
    """Enough values for the parallel passes (>= 2^18), with many duplicate rows to verify."""
    rng = np.random.default_rng(5)
    base = activations("tanh_sat", 3000, 24, rng)
    t = np.ascontiguousarray(base[rng.integers(0, 3000, 40000)])
    y = labels_for("ten", 40000, rng)
    ids = repeated_input_ids(40000, rng)
    for edges in (np.linspace(-1, 1, 30), np.linspace(-1, 1, 50), np.linspace(-1, 1, 100)):
        assert_same(fused(t, edges, None, [y, ids]), two_pass(t, edges, None, [y, ids]))
    assert_same(fused(t, None, 0.3, [y]), two_pass(t, None, 0.3, [y]))


def test_narrow_rows_in_parallel_with_duplicates():
    """Rows of fewer than 16 values (binned as one flat array into bytes) in a layer big enough
    for the parallel passes, with duplicates, against the two passes."""
    rng = np.random.default_rng(6)
    for d in (4, 10, 15):  # n * d >= 2^18: the parallel loops
        base = activations("tanh_sat", 2000, d, rng)
        t = np.ascontiguousarray(base[rng.integers(0, 2000, 70000)])
        y = labels_for("ten", 70000, rng)
        for edges in (np.linspace(-1, 1, 30), np.linspace(-1, 1, 300)):
            assert_same(fused(t, edges, None, [y]), two_pass(t, edges, None, [y]))


@pytest.mark.parametrize("d", [1, 7, 8, 9, 15])
def test_narrow_rows_that_differ_in_one_code_are_never_merged(d):
    """Each position of a narrow row (either side of the 8-byte halves its bytes are compared in)
    changed alone gives a distinct row, also with 1-bit hashes (every pair verified)."""
    edges = np.linspace(-1.0, 1.0, 30)
    base = np.linspace(-0.9, 0.9, d).astype(np.float32)
    rows = [base]
    for j in range(d):
        r = base.copy()
        r[j] += np.float32(0.5) if r[j] < 0.4 else np.float32(-0.5)
        rows.append(r)
    t = np.ascontiguousarray(np.stack(rows * 4))
    for bits in (64, 1):
        got = fused(t, edges, None, [np.arange(len(t)) % 3], hash_bits=bits)
        assert got[2] == d + 1
        assert_same(got, two_pass(t, edges, None, [np.arange(len(t)) % 3]))


def test_wide_rows():
    rng = np.random.default_rng(9)
    t = activations("relu", 300, 5000, rng)
    t[100:200] = t[:100]  # duplicates of long rows
    edges = np.linspace(0.0, 3.0, 30)
    y = labels_for("two", 300, rng)
    got = fused(t, edges, None, [y])
    assert got[2] == 200
    assert_same(got, two_pass(t, edges, None, [y]))


@pytest.mark.parametrize("name", sorted(BINNING))
@pytest.mark.parametrize("kind", ["gauss", "relu", "tanh_sat", "swish", "few", "wide"])
def test_estimators_give_the_numbers_of_the_two_passes(name, kind, monkeypatch):
    est, _ = BINNING[name]
    rng = np.random.default_rng(11)
    t = activations(kind, 1200, 7, rng)
    y = labels_for("ten", 1200, rng)
    ids = repeated_input_ids(1200, rng)
    if name.startswith("bin_width") and kind == "wide":
        t = t / 100  # keep floor(t / 0.07) inside int32
    got = [est(t), est(t, y), est(t, y, input_ids=ids)]
    monkeypatch.setattr(BinningEstimator, "_bins", lambda self, x: None)
    monkeypatch.setattr(type(est), "_bins", lambda self, x: None)
    want = [est(t), est(t, y), est(t, y, input_ids=ids)]
    assert got == want  # MIResult equality: every number and detail, bit for bit


def test_a_subclass_with_only_codes_still_works():
    class Sign(BinningEstimator):
        name = "sign"

        def params(self):
            return {"units": self.units}

        def _codes(self, x):
            return (np.asarray(x) > 0).astype(np.int32), {}

    rng = np.random.default_rng(2)
    t = activations("gauss", 400, 3, rng)
    r = Sign()(t)
    assert r.h_t == pytest.approx(reference.entropy_of_rows(t > 0), abs=1e-12)
    assert r.details["n_distinct"] == 8


# ---- errors ---------------------------------------------------------------------------------------


def test_core_binned_row_entropy_checks_its_arguments():
    x = np.zeros((4, 2), np.float32)
    e = np.array([0.0, 1.0])
    g = np.array([0, 1, 0, 1], np.int32)
    with pytest.raises(ValueError, match="either edges or width"):
        _core.binned_row_entropy(x, e, 0.5, [], [])
    with pytest.raises(ValueError, match="either edges or width"):
        _core.binned_row_entropy(x, None, None, [], [])
    with pytest.raises(ValueError, match="width must be finite and > 0"):
        _core.binned_row_entropy(x, None, 0.0, [], [])
    with pytest.raises(ValueError, match="hash_bits"):
        _core.binned_row_entropy(x, e, None, [], [], 0)
    with pytest.raises(ValueError, match="hash_bits"):
        _core.binned_row_entropy(x, e, None, [], [], 65)
    with pytest.raises(ValueError, match="one n_groups per grouping"):
        _core.binned_row_entropy(x, e, None, [g], [])
    with pytest.raises(ValueError, match="n_groups >= 1"):
        _core.binned_row_entropy(x, e, None, [g], [0])
    with pytest.raises(ValueError, match="group id out of range"):
        _core.binned_row_entropy(x, e, None, [g], [1])
    with pytest.raises(ValueError, match="has 3 ids, expected 4"):
        _core.binned_row_entropy(x, e, None, [g[:3]], [2])
    with pytest.raises(ValueError, match="must be 2-D"):
        _core.binned_row_entropy(np.zeros(4, np.float32), e, None, [], [])
    with pytest.raises(TypeError):  # noconvert: float64 activations are not copied silently
        _core.binned_row_entropy(x.astype(np.float64), e, None, [], [])
    with pytest.raises(TypeError):
        _core.binned_row_entropy(x, e.astype(np.float32), None, [], [])
    assert _core.binned_row_entropy(np.zeros((0, 3), np.float32), e, None, [], []) == (0.0, [], 0)


def test_the_fused_width_path_refuses_int32_overflow_like_the_codes():
    x = intake(np.array([[1e9, 0.0]], np.float32))
    with pytest.raises(ValueError, match="overflow int32"):
        binned_row_entropy_nats(x, width=0.01)
    with pytest.raises(ValueError, match="overflow int32"):
        ibfast.FixedWidth(0.01)(np.array([[1e9, 0.0]], np.float32))
    with pytest.raises(ValueError, match="either edges or width"):
        binned_row_entropy_nats(x)
