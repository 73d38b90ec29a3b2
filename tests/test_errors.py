"""Input intake: bad input raises an error naming the problem; good input of any kind agrees."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_ESTIMATORS, BINNING, KDES, activations

import ibfast
from ibfast import kernels

torch = pytest.importorskip("torch")

ESTIMATOR_NAMES = sorted(ALL_ESTIMATORS)


def _good(n=20, d=3):
    return activations("gauss", n, d, np.random.default_rng(0))


# --------------------------------------------------------------------------------------------
# Bad activations, for every estimator and every kernel that takes activations
# --------------------------------------------------------------------------------------------


def _nan():
    T = _good()
    T[3, 1] = np.nan
    return T


def _inf():
    T = _good()
    T[0, 0] = -np.inf
    return T


BAD_T = {
    "nan": (_nan, ValueError, r"(?i)nan"),
    "inf": (_inf, ValueError, r"(?i)inf"),
    "empty_rows": (lambda: np.zeros((0, 3), np.float32), ValueError, r"(?i)empty"),
    "empty_cols": (lambda: np.zeros((5, 0), np.float32), ValueError, r"(?i)empty"),
    "one_d": (lambda: np.zeros(5, np.float32), ValueError, r"(?i)2-D"),
    "three_d": (lambda: np.zeros((2, 3, 4), np.float32), ValueError, r"(?i)2-D"),
    "scalar": (lambda: np.float32(1.0), ValueError, r"(?i)2-D"),
    "strings": (lambda: np.array([["a", "b"], ["c", "d"]]), TypeError, r"(?i)dtype"),
    "objects": (lambda: np.array([[1.0, None]], dtype=object), TypeError, r"(?i)dtype"),
    "complex": (lambda: np.ones((3, 2), np.complex64), TypeError, r"(?i)complex"),
    "ragged": (lambda: [[1.0, 2.0], [3.0]], ValueError, r"(?i)ragged"),
    "beyond_float32": (
        lambda: np.array([[1e39, 0.0]], np.float64),
        ValueError,
        r"(?i)float32",
    ),
    "torch_nan": (
        lambda: torch.tensor([[0.0, float("nan")]]),
        ValueError,
        r"(?i)nan",
    ),
    "torch_complex": (lambda: torch.ones(3, 2, dtype=torch.complex64), TypeError, r"(?i)complex"),
}


@pytest.mark.parametrize("bad", sorted(BAD_T))
@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_estimators_reject_bad_activations(name, bad):
    make, exc, match = BAD_T[bad]
    with pytest.raises(exc, match=match):
        ALL_ESTIMATORS[name](make())


KERNEL_CALLS = {
    "bin_by_edges": lambda T: kernels.bin_by_edges(T, [0.0, 1.0]),
    "bin_by_width": lambda T: kernels.bin_by_width(T, 0.5),
    "ebab_edges": lambda T: kernels.ebab_edges(T),
    "sorted_distinct": lambda T: kernels.sorted_distinct(T),
    "kde_log_sum_exp": lambda T: kernels.kde_log_sum_exp(T, 1.0),
}


@pytest.mark.parametrize("bad", ["nan", "inf", "empty_rows", "one_d", "three_d", "strings"])
@pytest.mark.parametrize("kernel", sorted(KERNEL_CALLS))
def test_kernels_reject_bad_activations(kernel, bad):
    make, exc, match = BAD_T[bad]
    with pytest.raises(exc, match=match):
        KERNEL_CALLS[kernel](make())


# --------------------------------------------------------------------------------------------
# Bad labels and input ids
# --------------------------------------------------------------------------------------------


BAD_LABELS = {
    "short": (np.zeros(19, int), ValueError, r"labels.*19"),
    "long": (np.zeros(21, int), ValueError, r"labels.*21"),
    "two_d_one_hot": (np.eye(2)[np.arange(20) % 2], ValueError, r"labels.*1-D"),
    "nan": (np.r_[np.zeros(19), np.nan], ValueError, r"labels.*(?i:nan)"),
    "objects": (np.array([object()] * 20), TypeError, r"labels"),
    "complex": (np.zeros(20, np.complex128), TypeError, r"labels"),
}


@pytest.mark.parametrize("bad", sorted(BAD_LABELS))
@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_estimators_reject_bad_labels(name, bad):
    y, exc, match = BAD_LABELS[bad]
    with pytest.raises(exc, match=match):
        ALL_ESTIMATORS[name](_good(), y)


@pytest.mark.parametrize("name", sorted(BINNING))
def test_binning_rejects_bad_input_ids(name):
    est = BINNING[name][0]
    with pytest.raises(ValueError, match=r"input_ids.*19"):
        est(_good(), input_ids=np.arange(19))
    with pytest.raises(ValueError, match=r"input_ids"):
        est(_good(), input_ids=np.zeros((20, 2)))


def _as(kind, a):
    return torch.from_numpy(np.asarray(a)) if kind == "torch" else np.asarray(a)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("name", ["ebab", "kde_upper"])
def test_non_integer_float_labels_and_input_ids_are_refused(name, kind):
    # rng.random(N) as labels made N classes: I(T;Y) = I(X;T) = log2 N with no hint why.
    est = ALL_ESTIMATORS[name]
    T = _good()
    continuous = _as(kind, np.random.default_rng(1).random(20))
    with pytest.raises(ValueError, match=r"labels must be class indices.*non-integer floats \(20 of 20"):
        est(T, continuous)
    with pytest.raises(ValueError, match=r"input_ids must be class indices.*non-integer"):
        est(T, input_ids=continuous)
    one_off = np.arange(20) % 2.0
    one_off[7] = 0.5  # a single fractional value is refused too, and named
    with pytest.raises(ValueError, match=r"labels\[7\] = 0\.5"):
        est(T, _as(kind, one_off))
    # Integer-valued floats are class indices stored as floats: accepted, same numbers as ints.
    y = np.arange(20) % 3
    assert est(T, _as(kind, y.astype(np.float32))).as_dict() == est(T, y).as_dict()
    ids = np.arange(20) // 2
    assert est(T, input_ids=_as(kind, ids.astype(np.float64))).as_dict() == est(T, input_ids=ids).as_dict()


def test_kernel_groupings_must_match():
    T = _good()
    with pytest.raises(ValueError, match=r"groups.*19"):
        kernels.kde_log_sum_exp(T, 1.0, np.zeros(19, int))
    codes = np.zeros((20, 2), np.int32)
    with pytest.raises(ValueError, match=r"groupings\[1\].*3"):
        kernels.distinct_row_entropy(codes, np.zeros(20), np.zeros(3))


_CODES4 = np.array([[0, 1], [0, 1], [2, 3], [2, 4]], np.int32)

CORE_ROW_ENTROPY_BAD_GROUPS = {
    "id_too_large": ([np.array([0, 1, 3, 1], np.int32)], [3], r"group id out of range.*id 3 at row 2"),
    "id_negative": ([np.array([0, -1, 0, 1], np.int32)], [2], r"group id out of range.*id -1 at row 1"),
    "n_groups_0": ([np.zeros(4, np.int32)], [0], r"n_groups >= 1"),
    "short_grouping": (
        [np.zeros(4, np.int32), np.zeros(3, np.int32)],
        [1, 1],
        r"grouping 1 has 3 ids, expected 4",
    ),
    "long_grouping": ([np.zeros(5, np.int32)], [1], r"grouping 0 has 5 ids, expected 4"),
    "n_groups_count": ([np.zeros(4, np.int32)], [1, 1], r"one n_groups per grouping"),
}


@pytest.mark.parametrize("bad", sorted(CORE_ROW_ENTROPY_BAD_GROUPS))
def test_core_row_entropy_checks_group_ids(bad):
    # Straight into the C++ kernel, past the Python checks: it must not index out of bounds.
    from ibfast import _core

    groupings, n_groups, match = CORE_ROW_ENTROPY_BAD_GROUPS[bad]
    with pytest.raises(ValueError, match=match):
        _core.row_entropy(_CODES4, groupings, n_groups)


def test_core_row_entropy_accepts_the_edges_of_the_id_range():
    from ibfast import _core

    h, h_given, k = _core.row_entropy(_CODES4, [np.array([0, 2, 2, 0], np.int32)], [3])
    assert k == 3
    assert h == pytest.approx(1.5 * np.log(2))
    assert h_given == pytest.approx([np.log(2)])  # group 1 is empty, groups 0 and 2 hold two rows each


def test_distinct_row_entropy_rejects_bad_codes():
    with pytest.raises(TypeError, match=r"codes.*integer"):
        kernels.distinct_row_entropy(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"codes.*2-D"):
        kernels.distinct_row_entropy(np.zeros(3, np.int32))
    with pytest.raises(ValueError, match=r"codes.*empty"):
        kernels.distinct_row_entropy(np.zeros((0, 2), np.int32))
    with pytest.raises(ValueError, match=r"codes.*int32"):
        kernels.distinct_row_entropy(np.array([[2**40]], np.int64))
    with pytest.raises(ValueError, match=r"units"):
        kernels.distinct_row_entropy(np.zeros((3, 2), np.int32), units="bans")


# --------------------------------------------------------------------------------------------
# Bad parameters
# --------------------------------------------------------------------------------------------


BAD_PARAMS = {
    "fixed_range_n_bins_0": (lambda: ibfast.FixedRange(n_bins=0), ValueError, r"n_bins"),
    "fixed_range_n_bins_neg": (lambda: ibfast.FixedRange(n_bins=-3), ValueError, r"n_bins"),
    "fixed_range_n_bins_float": (lambda: ibfast.FixedRange(n_bins=2.5), TypeError, r"n_bins"),
    "fixed_range_lo_ge_hi": (lambda: ibfast.FixedRange(lo=1.0, hi=1.0), ValueError, r"lo"),
    "fixed_range_hi_nan": (lambda: ibfast.FixedRange(hi=float("nan")), ValueError, r"hi"),
    "adaptive_range_n_bins_0": (lambda: ibfast.AdaptiveRange(n_bins=0), ValueError, r"n_bins"),
    "ebab_n_bins_0": (lambda: ibfast.EBAB(n_bins=0), ValueError, r"n_bins"),
    "ebab_lower_word": (lambda: ibfast.EBAB(lower="zero"), ValueError, r"lower"),
    "ebab_lower_nan": (lambda: ibfast.EBAB(lower=float("nan")), ValueError, r"lower"),
    "ebab_lower_list": (lambda: ibfast.EBAB(lower=[0.0]), TypeError, r"lower"),
    "width_0": (lambda: ibfast.FixedWidth(0.0), ValueError, r"width"),
    "width_neg": (lambda: ibfast.FixedWidth(-0.07), ValueError, r"width"),
    "width_inf": (lambda: ibfast.FixedWidth(float("inf")), ValueError, r"width"),
    "width_str": (lambda: ibfast.FixedWidth("0.07"), TypeError, r"width"),
    "noise_0": (lambda: ibfast.KDE(noise_variance=0.0), ValueError, r"noise_variance"),
    "noise_neg": (lambda: ibfast.KDE(noise_variance=-1e-3), ValueError, r"noise_variance"),
    "noise_nan": (lambda: ibfast.KDE(noise_variance=float("nan")), ValueError, r"noise_variance"),
    "kde_bound": (lambda: ibfast.KDE(bound="middle"), ValueError, r"bound"),
    "kde_bound_case": (lambda: ibfast.KDE(bound="Upper"), ValueError, r"bound"),
    "adaptive_kde_bound": (lambda: ibfast.AdaptiveKDE(bound="tight"), ValueError, r"bound"),
    "adaptive_kde_scale_0": (lambda: ibfast.AdaptiveKDE(scale=0.0), ValueError, r"scale"),
    "units_ebab": (lambda: ibfast.EBAB(units="bans"), ValueError, r"units"),
    "units_kde": (lambda: ibfast.KDE(units="hartleys"), ValueError, r"units"),
}


@pytest.mark.parametrize("bad", sorted(BAD_PARAMS))
def test_bad_parameters(bad):
    make, exc, match = BAD_PARAMS[bad]
    with pytest.raises(exc, match=match):
        make()(_good())  # raised at construction (or at the latest at the call)


BAD_KERNEL_PARAMS = {
    "edges_unsorted": (lambda T: kernels.bin_by_edges(T, [0.0, 1.0, 0.5]), ValueError, r"sorted"),
    "edges_empty": (lambda T: kernels.bin_by_edges(T, []), ValueError, r"edges.*empty"),
    "edges_nan": (lambda T: kernels.bin_by_edges(T, [0.0, np.nan]), ValueError, r"edges"),
    "width_0": (lambda T: kernels.bin_by_width(T, 0.0), ValueError, r"width"),
    "width_overflow": (lambda T: kernels.bin_by_width(T * 1e6, 1e-6), ValueError, r"overflow"),
    "ebab_n_bins_0": (lambda T: kernels.ebab_edges(T, n_bins=0), ValueError, r"n_bins"),
    "ebab_lower": (lambda T: kernels.ebab_edges(T, lower="low"), ValueError, r"lower"),
    "alpha_0": (lambda T: kernels.kde_log_sum_exp(T, 0.0), ValueError, r"alpha"),
    "alpha_neg": (lambda T: kernels.kde_log_sum_exp(T, -1.0), ValueError, r"alpha"),
    "alpha_inf": (lambda T: kernels.kde_log_sum_exp(T, float("inf")), ValueError, r"alpha"),
}


@pytest.mark.parametrize("bad", sorted(BAD_KERNEL_PARAMS))
def test_bad_kernel_parameters(bad):
    call, exc, match = BAD_KERNEL_PARAMS[bad]
    with pytest.raises(exc, match=match):
        call(_good())


# The checks gathered in ibfast._params, with their exact messages (wrong type: TypeError, wrong value:
# ValueError), reached through the public calls that use them.
EXACT_PARAM_MESSAGES = {
    "alpha_huge": (lambda T: kernels.kde_log_sum_exp(T, 1e31), ValueError,
                   "alpha = 1e+31 is too large for float32 arithmetic (noise variance too small)"),
    "alpha_str": (lambda T: kernels.kde_log_sum_exp(T, "1"), TypeError,
                  "alpha must be a real number, got str"),
    "alphas_number": (lambda T: kernels.kde_log_sum_exp_alphas(T, 1.0), TypeError,
                      "alphas must be a sequence of numbers, got 1.0"),
    "alphas_str": (lambda T: kernels.kde_log_sum_exp_alphas(T, "12"), TypeError,
                   "alphas must be a sequence of numbers, got '12'"),
    "alphas_bad_one": (lambda T: kernels.kde_log_sum_exp_alphas(T, [1.0, 0.0]), ValueError,
                       "alpha must be positive and finite, got 0.0"),
    "edges_empty": (lambda T: kernels.bin_by_edges(T, []), ValueError, "edges is empty"),
    "edges_nan": (lambda T: kernels.bin_by_edges(T, [0.0, np.nan]), ValueError, "edges contains NaN or inf"),
    "edges_unsorted": (lambda T: kernels.bin_by_edges(T, [1.0, 0.0]), ValueError,
                       "edges must be sorted ascending"),
    "lower_word": (lambda T: ibfast.EBAB(lower="low"), ValueError,
                   "lower must be 'auto', None or a number, got 'low'"),
    "lower_list": (lambda T: kernels.ebab_edges(T, lower=[0.0]), TypeError,
                   "lower must be 'auto', None or a number, got list"),
    "power_3": (lambda T: ibfast.AdaptiveKDE(power=3), ValueError,
                "power must be 1 (s2 = scale * max|T|) or 2 (s2 = (scale * max|T|)^2), got 3"),
    "power_float": (lambda T: ibfast.AdaptiveKDE(power=1.0), TypeError, "power must be an int, got float"),
    "factory": (lambda T: ibfast.register_estimator("x", 3), TypeError,
                "estimator 'x': the factory must be callable, got int"),
}


@pytest.mark.parametrize("bad", sorted(EXACT_PARAM_MESSAGES))
def test_parameter_checks_keep_their_messages(bad):
    import re

    call, exc, message = EXACT_PARAM_MESSAGES[bad]
    with pytest.raises(exc, match=f"^{re.escape(message)}$"):
        call(_good())


def test_activation_parameter_checks_keep_their_messages():
    from ibfast import _params
    from ibfast.estimators import kde
    from ibfast.models import activations

    with pytest.raises(ValueError, match=r"^init_gain must be one of 'authors', 'ibfast', got 'paper'$"):
        activations.check_init_gain_rule("paper")
    with pytest.raises(TypeError, match=r"^init_gain must be a str, one of 'authors', 'ibfast'; got None"):
        activations.check_init_gain_rule(None)
    with pytest.raises(TypeError, match=r"^activation 'mine': fn must be callable, got int$"):
        activations.register("mine", 3)
    with pytest.raises(ValueError, match=r"^activation 'mine': gain must be positive and finite, got 0\.0$"):
        activations.register("mine", abs, 0.0)
    # one home, importable from where they were
    assert activations.check_init_gain_rule is _params.check_init_gain_rule
    assert activations.INIT_GAIN_RULES is _params.INIT_GAIN_RULES == ("authors", "ibfast")
    assert kde.check_power is _params.check_power


def test_core_row_entropy_messages_are_the_shared_checks():
    # csrc/include/ibfast/row_entropy_checks.hpp: the CPU prefix "ibfast", the CUDA one "ibfast CUDA"
    from ibfast import _core

    x = np.zeros((4, 2), np.float32)
    g = np.array([0, 1, 0, 1], np.int32)
    with pytest.raises(ValueError, match=r"^ibfast row_entropy: one n_groups per grouping$"):
        _core.row_entropy(_CODES4, [g], [])
    with pytest.raises(ValueError, match=r"^ibfast row_entropy: a grouping needs n_groups >= 1$"):
        _core.binned_row_entropy(x, None, 0.5, [g], [0])
    with pytest.raises(ValueError, match=r"^ibfast binned_row_entropy: hash_bits must be in \[1, 64\], got"):
        _core.binned_row_entropy(x, None, 0.5, [g], [2], 0)
    with pytest.raises(ValueError, match=r"^ibfast binned_row_entropy: width must be finite and > 0$"):
        _core.binned_row_entropy(x, None, float("nan"), [g], [2])


def test_bin_width_overflow_is_refused_by_the_estimator():
    with pytest.raises(ValueError, match=r"overflow"):
        ibfast.FixedWidth(1e-9)(_good() * np.float32(10.0))


def test_tiny_noise_is_refused_not_silently_wrong():
    # alpha = 1/(2 s2) beyond float32 would turn the diagonal term into 0 * inf
    with pytest.raises(ValueError, match=r"(?i)noise|alpha"):
        ibfast.KDE(noise_variance=1e-40)(_good())


# --------------------------------------------------------------------------------------------
# Accepted input: every form gives the same numbers as float32 numpy
# --------------------------------------------------------------------------------------------


def _same(a, b):
    assert a.as_dict() == b.as_dict()


@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_torch_float32_cpu_gives_the_same_numbers(name):
    rng = np.random.default_rng(1)
    T = activations("tanh_sat", 120, 5, rng) * np.float32(0.2)
    y = rng.integers(0, 3, size=120)
    est = ALL_ESTIMATORS[name]
    base = est(T, y)
    _same(base, est(torch.from_numpy(T), torch.from_numpy(y)))
    _same(base, est(torch.from_numpy(T).requires_grad_(True), y))  # detached, not refused
    _same(base, est(torch.from_numpy(T.T.copy()).T, y))  # non-contiguous tensor
    _same(base, est(torch.from_numpy(T).double(), y))  # float64 tensor is converted
    if name in BINNING:
        ids = np.arange(120) // 2
        _same(est(T, y, input_ids=ids), est(torch.from_numpy(T), y, input_ids=torch.tensor(ids)))


@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_other_numpy_layouts_and_dtypes_give_the_same_numbers(name):
    rng = np.random.default_rng(2)
    T64 = activations("relu", 150, 6, rng).astype(np.float64) * 0.2 + rng.standard_normal(
        (150, 6)
    ) * 1e-9  # float64 values that are not float32 numbers
    T32 = T64.astype(np.float32)
    y = rng.integers(0, 2, size=150)
    est = ALL_ESTIMATORS[name]
    base = est(T32, y)
    _same(base, est(T64, y))  # float64 -> float32 of it
    _same(base, est(np.asfortranarray(T32), y))
    wide = np.zeros((150, 12), np.float32)
    wide[:, ::2] = T32
    _same(base, est(wide[:, ::2], y))  # strided view
    _same(base, est(T32.tolist(), list(y)))  # nested lists
    ints = rng.integers(-2, 3, size=(150, 6))
    _same(est(ints.astype(np.float32), y), est(ints, y))  # integers are converted


def test_float32_contiguous_input_is_not_copied():
    arrays = pytest.importorskip("ibfast._arrays")
    T = _good()
    assert np.shares_memory(arrays.as_activations(T), T)
    t = torch.from_numpy(T)
    assert np.shares_memory(arrays.as_activations(t), T)


def test_cuda_tensor_without_cuda_build_is_refused_clearly():
    if ibfast.cuda_available() or not torch.cuda.is_available():
        pytest.skip("needs a CUDA device and an ibfast build without CUDA")
    with pytest.raises(ValueError, match=r"cuda|cpu"):
        ibfast.EBAB()(torch.zeros(4, 2, device="cuda"))


def test_cuda_out_of_memory_has_its_own_type():
    # Told apart from other CUDA errors (RuntimeError) by type, not by message; needs no device.
    cuda = pytest.importorskip("ibfast._cuda")
    assert issubclass(cuda.OutOfMemoryError, MemoryError)
    assert not issubclass(cuda.OutOfMemoryError, RuntimeError)
    assert cuda.OutOfMemoryError.__module__ == "ibfast._cuda"


@pytest.mark.parametrize("name", sorted(KDES))
def test_kde_accepts_and_checks_input_ids(name):
    est = KDES[name][0]
    T = _good()
    assert est(T, input_ids=np.arange(20)).as_dict() == est(T).as_dict()
    with pytest.raises(ValueError, match=r"input_ids"):
        est(T, input_ids=np.arange(3))


@pytest.mark.parametrize("name", ["ebab", "bin_width_0.07", "kde_upper", "adaptive_kde_lower"])
def test_read_only_big_endian_half_and_memmap_inputs(name, tmp_path):
    rng = np.random.default_rng(3)
    T = activations("swish", 200, 4, rng) * np.float32(0.3)
    y = rng.integers(0, 3, size=200)
    est = ALL_ESTIMATORS[name]
    base = est(T, y)
    ro = T.copy()
    ro.setflags(write=False)
    _same(base, est(ro, y))
    _same(base, est(T.astype(">f4"), y))  # big-endian float32: same values
    mm = np.memmap(tmp_path / "t.dat", dtype=np.float32, mode="w+", shape=T.shape)
    mm[:] = T
    _same(base, est(mm, y))
    half = T.astype(np.float16)
    _same(est(half.astype(np.float32), y), est(half, y))  # float16 -> float32 of it
    _same(est(half.astype(np.float32), y), est(torch.from_numpy(half), y))
    bf = torch.from_numpy(T).bfloat16()
    _same(est(bf.float().numpy(), y), est(bf, y))  # bfloat16 tensor -> float32 of it


def test_the_nonfinite_count_in_the_message_is_exact():
    T = np.zeros((300, 1000), np.float32)  # 3e5 values: the parallel scan
    T[5, 7], T[299, 999], T[100, 0] = np.nan, np.inf, -np.inf
    with pytest.raises(ValueError, match=r"contains NaN or inf \(3 of 300000 values\)"):
        ibfast.FixedRange()(T)
    with pytest.raises(ValueError, match=r"contains NaN or inf \(3 of 300000 values\)"):
        ibfast.FixedRange()(T.astype(np.float64))  # numpy's count before the conversion
