"""Benchmarks of ibfast against ibfast.reference and what users would otherwise reach for.

Run (from the repository root; about 5 minutes on a 2-core machine)::

    pytest bench -p no:cacheprovider --benchmark-columns=min,median,rounds

``-m "not slow"`` leaves out the slow ones (the N = 70000 KDE memory check, the full default
training run) and takes about 2 minutes. Every benchmark group times the same inputs with each
implementation; after the run a table per group gives the median and min time of each
implementation, its ratio to ibfast's and the group's targets with PASS / MISS. Each benchmark
also asserts that its numbers agree with ibfast's (and ibfast's with an exact float64
computation), so a fast wrong answer fails. Absolute times are context only: they depend on the
machine; the ratios are the point.
"""

from __future__ import annotations

import ctypes
import gc
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from ibfast.data.twelve_bit import all_patterns

# --------------------------------------------------------------------------------------------
# Recording timings and targets
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    impl: str
    min: float
    median: float
    rounds: int
    nodeid: str


@dataclass
class Target:
    """A speed target of ibfast, checked in the summary.

    kind "speedup": median(fastest implementation whose name starts with `over`) /
    median(ibfast) >= value.  kind "time": median(ibfast) < value seconds.
    """

    kind: str
    value: float
    over: str = ""


@dataclass
class Check:
    """A non-timing figure reported with the group (e.g. peak memory) and whether it passed."""

    what: str
    value: str
    limit: str
    passed: bool


@dataclass
class Group:
    timings: dict[str, Timing] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


GROUPS: dict[str, Group] = {}
FAILED: set[str] = set()


class Compare:
    """Wraps pytest-benchmark's fixture: times one implementation of a group and records it."""

    def __init__(self, benchmark: Any, request: pytest.FixtureRequest) -> None:
        self._benchmark = benchmark
        self._nodeid = request.node.nodeid
        self.group_name = ""

    def group(self, name: str) -> Group:
        self.group_name = name
        self._benchmark.group = name
        return GROUPS.setdefault(name, Group())

    def __call__(self, impl: str, fn: Any, *args: Any, rounds: int = 5, warmup_rounds: int = 1) -> Any:
        """Time ``fn(*args)`` as implementation `impl` of the current group; return its result."""
        if not self.group_name:
            raise RuntimeError("call compare.group(name) first")
        b = self._benchmark
        b.extra_info["impl"] = impl
        result = b.pedantic(fn, args=args, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
        if b.stats is not None:  # None under --benchmark-disable
            s = b.stats.stats
            GROUPS[self.group_name].timings[impl] = Timing(impl, s.min, s.median, int(s.rounds), self._nodeid)
        return result

    def target_speedup(self, over: str, factor: float) -> None:
        GROUPS[self.group_name].targets.append(Target("speedup", factor, over))

    def target_time(self, seconds: float) -> None:
        GROUPS[self.group_name].targets.append(Target("time", seconds))

    def check(self, what: str, value: str, limit: str, passed: bool) -> None:
        GROUPS[self.group_name].checks.append(Check(what, value, limit, passed))
        self._benchmark.extra_info[what] = value

    def note(self, text: str) -> None:
        g = GROUPS[self.group_name]
        if text not in g.notes:
            g.notes.append(text)


@pytest.fixture
def compare(benchmark: Any, request: pytest.FixtureRequest) -> Compare:
    return Compare(benchmark, request)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    if rep.when == "call" and rep.failed:
        FAILED.add(item.nodeid)
    return rep


def _fmt_time(t: float) -> str:
    if t < 1e-3:
        return f"{t * 1e6:8.1f} us"
    if t < 1.0:
        return f"{t * 1e3:8.2f} ms"
    return f"{t:8.3f} s "


def _target_line(g: Group, t: Target) -> str:
    ib = g.timings.get("ibfast")
    if t.kind == "time":
        want = f"ibfast median < {_fmt_time(t.value).strip()}"
        if ib is None:
            return f"target {want}: MISS (ibfast not timed)"
        if ib.nodeid in FAILED:
            return f"target {want}: MISS (ibfast gave a wrong answer)"
        ok = ib.median < t.value
        return f"target {want}: {_fmt_time(ib.median).strip()} {'PASS' if ok else 'MISS'}"
    want = f"ibfast >= {t.value:g}x faster than {t.over}"
    cands = [v for k, v in g.timings.items() if k.startswith(t.over)]
    if ib is None or not cands:
        return f"target {want}: MISS (not all timed)"
    if ib.nodeid in FAILED:
        return f"target {want}: MISS (ibfast gave a wrong answer)"
    best = min(cands, key=lambda v: v.median)
    ratio = best.median / ib.median
    ratio_min = min(v.min for v in cands) / ib.min
    which = f" (fastest: {best.impl})" if len(cands) > 1 else ""
    verdict = "PASS" if ratio >= t.value else f"MISS by {t.value / ratio:.2f}x"
    return f"target {want}{which}: {ratio:.2f}x by median {verdict} [{ratio_min:.2f}x by min]"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not GROUPS:
        return
    tr = terminalreporter
    tr.write_sep("=", "ibfast benchmark ratios: ratio = time of impl / time of ibfast")
    tr.write_line(
        "PASS/MISS judged on medians; ratio(min) compares best rounds, less sensitive to other "
        "load on the machine."
    )
    for name, g in GROUPS.items():
        tr.write_line("")
        tr.write_line(f"[{name}]")
        ib = g.timings.get("ibfast")
        tr.write_line(
            f"  {'implementation':<22}{'median':>12}{'min':>12}{'rounds':>7}"
            f"{'ratio(median)':>15}{'ratio(min)':>12}"
        )
        for t in sorted(g.timings.values(), key=lambda v: (v.impl != "ibfast", v.median)):
            r_med = f"{t.median / ib.median:.2f}x" if ib else "-"
            r_min = f"{t.min / ib.min:.2f}x" if ib else "-"
            flag = "  (FAILED check)" if t.nodeid in FAILED else ""
            tr.write_line(
                f"  {t.impl:<22}{_fmt_time(t.median):>12}{_fmt_time(t.min):>12}"
                f"{t.rounds:>7}{r_med:>15}{r_min:>12}{flag}"
            )
        if not g.timings:
            tr.write_line("  (no timings: benchmarks disabled or skipped)")
        for t in g.targets:
            tr.write_line("  " + _target_line(g, t))
        for c in g.checks:
            tr.write_line(f"  check {c.what}: {c.value} (limit {c.limit}) {'PASS' if c.passed else 'MISS'}")
        for n in g.notes:
            tr.write_line(f"  note: {n}")


# --------------------------------------------------------------------------------------------
# Peak memory (Linux): what a call adds to the resident set at its highest
# --------------------------------------------------------------------------------------------


def _status_kb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0])
    return out


def _malloc_trim() -> None:
    """Hand freed heap pages back to the OS (glibc), so that reused pages count as new peak."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_extra_bytes(fn: Any, *args: Any) -> tuple[Any, int]:
    """Run fn(*args); return its result and the peak resident memory it added (Linux).

    Sees C++ allocations too (tracemalloc does not). Without the trim, allocations that reuse
    pages an earlier benchmark freed (glibc keeps them) would not show; the tests using this run
    a positive control to check that an allocation does show.
    """
    _malloc_trim()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current VmRSS
    before = _status_kb()["VmRSS"]
    result = fn(*args)
    after = _status_kb()["VmHWM"]
    return result, (after - before) * 1024


def clear_refs_works() -> bool:
    """Whether peak_extra_bytes can measure here (Linux /proc/self/clear_refs and VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return "VmHWM" in _status_kb()
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Activation-like data, shared by the benchmark modules
# --------------------------------------------------------------------------------------------


def twelve_bit_inputs() -> np.ndarray:
    """All 4096 12-bit patterns as a (4096, 12) float32 0/1 matrix (the 12-bit task's X)."""
    return all_patterns()


def dense_layer(x: np.ndarray, width: int, rng: np.random.Generator, gain: float) -> np.ndarray:
    """Pre-activation x @ W + b of a random layer: W ~ N(0, (gain / sqrt(fan_in))^2), b = 0."""
    w = rng.standard_normal((x.shape[1], width)) * (gain / math.sqrt(x.shape[1]))
    return x.astype(np.float64) @ w


def activation_matrix(kind: str, n: int, d: int, seed: int) -> np.ndarray:
    """An (n, d) float32 layer: tanh or ReLU of a random linear map of some inputs.

    n = 4096 uses the 12-bit inputs (so the layer is the 12-10-... net's first layer); other n
    use standard normal 64-dimensional inputs. ReLU layers have about half exact zeros.
    """
    rng = np.random.default_rng(seed)
    if n == 4096:
        x = twelve_bit_inputs() - 0.5  # centred bits, as a network's first layer would see
    else:
        x = rng.standard_normal((n, 64)).astype(np.float32)
    if kind == "tanh":
        t = np.tanh(dense_layer(x, d, rng, 1.0))
    elif kind == "relu":
        t = np.maximum(dense_layer(x, d, rng, 2.0), 0.0)
    else:
        raise ValueError(kind)
    return np.ascontiguousarray(t, dtype=np.float32)


_CACHE: dict[tuple[Any, ...], Any] = {}


@pytest.fixture(scope="session")
def layer() -> Any:
    """layer(kind, n, d, seed=0): a cached activation matrix (same inputs for every impl)."""

    def get(kind: str, n: int, d: int, seed: int = 0) -> np.ndarray:
        key = ("layer", kind, n, d, seed)
        if key not in _CACHE:
            _CACHE[key] = activation_matrix(kind, n, d, seed)
        return _CACHE[key]

    return get


@pytest.fixture(scope="session")
def twelve_bit_x() -> np.ndarray:
    """All 4096 12-bit patterns, (4096, 12) float32 0/1."""
    return twelve_bit_inputs()


@pytest.fixture(scope="session")
def cache() -> dict[tuple[Any, ...], Any]:
    """A session-wide dict for results that several benchmarks compare against."""
    return _CACHE
