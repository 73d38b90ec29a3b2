"""Shared data generators, estimator tables and comparison helpers for the ibfast tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ibfast
from ibfast import reference

# The 12-bit task's original data (var_u.mat, not shipped: see docs/experiments.md, "Data sets").
# IBFAST_VAR_U names the file (bench/trained_layers.py reads the same variable); without it, the
# tests look beside the repository. The tests that need it skip with VAR_U_MISSING as the reason,
# and the run's summary says how many skipped and how to run them.
_VAR_U_ENV = os.environ.get("IBFAST_VAR_U", "")
VAR_U_PATH = (Path(_VAR_U_ENV).expanduser() if _VAR_U_ENV
              else Path(__file__).resolve().parents[1].parent / "shared" / "data" / "var_u.mat")
VAR_U_MISSING = (
    f"needs the 12-bit task's var_u.mat (not found at {VAR_U_PATH}): set IBFAST_VAR_U=/path/to/var_u.mat "
    "(see docs/experiments.md, 'Where var_u.mat comes from')"
)

# --------------------------------------------------------------------------------------------
# Activation-like data
# --------------------------------------------------------------------------------------------

KINDS = (
    "gauss",  # no ties, mixed signs
    "relu",  # about half exact zeros, nothing negative
    "tanh_sat",  # many values exactly -1.0 and +1.0
    "swish",  # x * sigmoid(x): small negatives, a long positive tail
    "sigmoid",  # (0, 1)
    "few",  # few distinct values -> many duplicate rows
    "ints",  # small integers stored as floats
    "wide",  # values far outside [-1, 1]
    "binary",  # 0 / 1
)


def activations(kind: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """An (n, d) float32 C-contiguous matrix that looks like a layer's activity."""
    z = rng.standard_normal((n, d))
    if kind == "gauss":
        t = z
    elif kind == "relu":
        t = np.maximum(z, 0.0)
    elif kind == "tanh_sat":
        t = np.tanh(6.0 * z)
        t[np.abs(z) > 1.0] = np.sign(z[np.abs(z) > 1.0])  # exact saturation
    elif kind == "swish":
        x = 2.0 * z
        t = x / (1.0 + np.exp(-x))
    elif kind == "sigmoid":
        t = 1.0 / (1.0 + np.exp(-3.0 * z))
    elif kind == "few":
        t = rng.choice(np.array([-0.5, 0.0, 0.25, 1.0]), size=(n, d))
    elif kind == "ints":
        t = rng.integers(-3, 4, size=(n, d)).astype(np.float64)
    elif kind == "wide":
        t = 50.0 * z * np.exp(z)
    elif kind == "binary":
        t = rng.integers(0, 2, size=(n, d)).astype(np.float64)
    else:
        raise ValueError(kind)
    return np.ascontiguousarray(t, dtype=np.float32)


LABEL_STRUCTURES = ("none", "one", "two", "ten", "unbalanced", "singletons")


def labels_for(structure: str, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """Class labels with a given group structure (None for "none")."""
    if structure == "none":
        return None
    if structure == "one":
        return np.zeros(n, dtype=np.int64)
    if structure == "two":
        return rng.integers(0, 2, size=n)
    if structure == "ten":
        return rng.integers(0, 10, size=n)
    if structure == "unbalanced":
        return rng.choice(3, size=n, p=[0.9, 0.09, 0.01])
    if structure == "singletons":
        # a few classes of one sample each, the rest in two big classes
        y = rng.integers(0, 2, size=n)
        k = min(n, 5)
        y[:k] = 100 + np.arange(k)
        return y
    raise ValueError(structure)


def repeated_input_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Input ids in which inputs repeat (about two rows per input)."""
    return rng.integers(0, max(1, n // 2), size=n)


# --------------------------------------------------------------------------------------------
# Estimators paired with their reference
# --------------------------------------------------------------------------------------------

# name -> (ibfast estimator, reference function (T, labels, input_ids) -> dict)
BINNING = {
    "fixed_range": (
        ibfast.FixedRange(),
        lambda T, y, ids: reference.fixed_range(T, y, ids),
    ),
    "fixed_range_b7_0_5": (
        ibfast.FixedRange(n_bins=7, lo=0.0, hi=5.0),
        lambda T, y, ids: reference.fixed_range(T, y, ids, n_bins=7, lo=0.0, hi=5.0),
    ),
    "bin_width_0.07": (
        ibfast.FixedWidth(0.07),
        lambda T, y, ids: reference.fixed_width(T, y, ids, width=0.07),
    ),
    "bin_width_0.5": (
        ibfast.FixedWidth(0.5),
        lambda T, y, ids: reference.fixed_width(T, y, ids, width=0.5),
    ),
    "adaptive_range": (
        ibfast.AdaptiveRange(),
        lambda T, y, ids: reference.adaptive_range(T, y, ids),
    ),
    "adaptive_range_b4": (
        ibfast.AdaptiveRange(n_bins=4),
        lambda T, y, ids: reference.adaptive_range(T, y, ids, n_bins=4),
    ),
    "ebab": (
        ibfast.EBAB(),
        lambda T, y, ids: reference.ebab(T, y, ids),
    ),
    "ebab_none": (
        ibfast.EBAB(lower=None),
        lambda T, y, ids: reference.ebab(T, y, ids, lower=None),
    ),
    "ebab_lower0": (
        ibfast.EBAB(lower=0.0),
        lambda T, y, ids: reference.ebab(T, y, ids, lower=0.0),
    ),
    "ebab_b5": (
        ibfast.EBAB(n_bins=5),
        lambda T, y, ids: reference.ebab(T, y, ids, n_bins=5),
    ),
}

# name -> (ibfast estimator, reference function (T, labels) -> dict)
KDES = {
    "kde_upper": (ibfast.KDE(), lambda T, y: reference.kde(T, y)),
    "kde_lower": (
        ibfast.KDE(bound="lower"),
        lambda T, y: reference.kde(T, y, bound="lower"),
    ),
    "kde_upper_0.1": (
        ibfast.KDE(noise_variance=0.1),
        lambda T, y: reference.kde(T, y, noise_variance=0.1),
    ),
    "adaptive_kde_upper": (ibfast.AdaptiveKDE(), lambda T, y: reference.adaptive_kde(T, y)),
    "adaptive_kde_upper_power2": (
        ibfast.AdaptiveKDE(scale=0.05, power=2),
        lambda T, y: reference.adaptive_kde(T, y, scale=0.05, power=2),
    ),
    "adaptive_kde_lower": (
        ibfast.AdaptiveKDE(scale=1e-2, bound="lower"),
        lambda T, y: reference.adaptive_kde(T, y, scale=1e-2, bound="lower"),
    ),
}

ALL_ESTIMATORS = {**{k: v[0] for k, v in BINNING.items()}, **{k: v[0] for k, v in KDES.items()}}

FIELDS = ("i_xt", "i_ty", "h_t", "h_t_given_y", "h_t_given_x")


def assert_matches(res, ref: dict, *, rtol: float, atol: float, context: str = "") -> None:
    """Every field of an MIResult equals the reference dict (None where the reference is None)."""
    for f in FIELDS:
        got, want = getattr(res, f), ref[f]
        if want is None:
            assert got is None, f"{f}: expected None, got {got} {context}"
            continue
        assert got is not None, f"{f}: got None, expected {want} {context}"
        assert abs(got - want) <= atol + rtol * abs(want), (
            f"{f}: got {got!r}, reference {want!r}, diff {got - want:.3e} {context}"
        )


def assert_binning_matches(res, ref: dict, context: str = "") -> None:
    assert_matches(res, ref, rtol=0.0, atol=1e-9, context=context)


def assert_kde_matches(res, ref: dict, context: str = "") -> None:
    # 1e-5 relative; the small absolute floor covers quantities that are ~0 (identical rows,
    # I(T;Y) of an uninformative layer), where float32 distances leave ~1e-7 bits of noise.
    assert_matches(res, ref, rtol=1e-5, atol=1e-6, context=context)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def var_u() -> tuple[np.ndarray, np.ndarray]:
    """The 12-bit task: F (4096, 12) as float32 and y (4096,) as int."""
    if not VAR_U_PATH.is_file():
        pytest.skip(VAR_U_MISSING)
    scipy_io = pytest.importorskip("scipy.io")
    m = scipy_io.loadmat(str(VAR_U_PATH))
    F = np.ascontiguousarray(m["F"], dtype=np.float32)
    y = np.asarray(m["y"]).reshape(-1).astype(np.int64)
    assert F.shape == (4096, 12) and y.shape == (4096,)
    return F, y


@pytest.fixture(scope="session")
def all_12bit_patterns() -> np.ndarray:
    """All 4096 12-bit patterns as a (4096, 12) float32 0/1 matrix, one pattern per row."""
    x = np.arange(4096)[:, None]
    return ((x >> np.arange(12)[None, :]) & 1).astype(np.float32)


# --------------------------------------------------------------------------------------------
# CUDA: tests marked `cuda` skip in two steps (module not built / no device); with
# IBFAST_REQUIRE_CUDA=1 (bench/gpu_check.sh on a GPU machine) either reason is a failure instead.
# --------------------------------------------------------------------------------------------
def cuda_unavailable_reason() -> str | None:
    if not ibfast.cuda_built():
        return "ibfast was built without its CUDA module"
    if not ibfast.cuda_available():
        return "no CUDA device visible"
    return None


@pytest.fixture
def cuda_device():
    """A torch CUDA device for tests marked cuda (skipped, or failed when required, without)."""
    torch = pytest.importorskip("torch")
    reason = cuda_unavailable_reason()
    if reason is not None:
        import os

        if os.environ.get("IBFAST_REQUIRE_CUDA") == "1":
            pytest.fail(f"IBFAST_REQUIRE_CUDA=1 but {reason}")
        pytest.skip(reason)
    return torch.device("cuda")


def pytest_configure(config: pytest.Config) -> None:
    if _VAR_U_ENV and not VAR_U_PATH.is_file():  # asked for by name: a typo must not become skips
        raise pytest.UsageError(f"IBFAST_VAR_U={_VAR_U_ENV} is not a file")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many tests skipped for want of var_u.mat, and how to run them (the skip reasons
    alone show only with -rs)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if isinstance(r.longrepr, tuple) and "IBFAST_VAR_U" in str(r.longrepr[2])]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests skipped: the 12-bit var_u.mat was not found at {VAR_U_PATH}; "
            "set IBFAST_VAR_U=/path/to/var_u.mat to run them", yellow=True)
