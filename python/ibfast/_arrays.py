"""Array intake: numpy arrays, CPU tensors and CUDA tensors -> validated, contiguous float32 / int32.

Validation happens here, once, before any kernel runs: the kernels trust what they get. One set
of rules and messages serves every path; numpy arrays and CPU tensors come out as numpy arrays,
CUDA tensors stay tensors on their device (checked there, never copied to the host).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core


def is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def is_cuda_tensor(x: Any) -> bool:
    """A torch tensor on a CUDA device (computed there by ibfast._cuda, never copied to host)."""
    return is_torch_tensor(x) and x.device.type == "cuda"


# ---- numpy / torch in one vocabulary -------------------------------------------------------------
def _kind(a: Any) -> str:
    """numpy's dtype kind letter ('f', 'i', 'u', 'b', 'c', ...) for an array or a tensor."""
    if isinstance(a, np.ndarray):
        return str(a.dtype.kind)
    if a.is_complex():
        return "c"
    if a.dtype.is_floating_point:
        return "f"
    import torch

    return "b" if a.dtype == torch.bool else "i"  # torch's other dtypes are all integers


def _n_nonfinite(a: Any) -> int:
    if isinstance(a, np.ndarray):
        if a.dtype == np.float32 and a.flags.c_contiguous:
            return int(_core.count_nonfinite(a))  # one parallel pass, no temporary bool array
        return int(a.size - np.count_nonzero(np.isfinite(a)))
    import torch

    return int((~torch.isfinite(a)).sum())


def _numel(a: Any) -> int:
    return int(a.size) if isinstance(a, np.ndarray) else int(a.numel())


def _min_max(a: Any) -> tuple[int, int]:
    if isinstance(a, np.ndarray):
        return int(a.min()), int(a.max())
    lo, hi = a.aminmax()
    return int(lo), int(hi)


def _astype(a: Any, dtype: str) -> Any:
    """float32 / int32 conversion that keeps the array's library and device; contiguous."""
    if isinstance(a, np.ndarray):
        with np.errstate(over="ignore"):
            return np.ascontiguousarray(a, dtype=dtype)
    import torch

    return a.to(getattr(torch, dtype)).contiguous()


def _host_numpy(x: Any, name: str) -> np.ndarray:
    """numpy view of host input: arrays, sequences, CPU tensors (reduced floats widened first:
    numpy has no bfloat16)."""
    if is_torch_tensor(x):
        t = x.detach()
        if t.device.type != "cpu":
            raise ValueError(f"{name} is a torch tensor on {t.device}; ibfast computes on the CPU or on CUDA")
        if t.dtype.is_floating_point and t.itemsize < 4:
            t = t.float()
        return np.asarray(t.contiguous().numpy())
    try:
        return np.asarray(x)
    except ValueError as err:  # numpy refuses ragged nested sequences
        raise ValueError(f"{name} is ragged (rows of different lengths): {err}") from None


def _intake(x: Any, name: str) -> Any:
    return x.detach() if is_cuda_tensor(x) else _host_numpy(x, name)


def _check_matrix(a: Any, name: str, hint: str = "") -> None:
    shape = tuple(a.shape)
    if len(shape) != 2:
        extra = " (one unit: use x.reshape(-1, 1))" if hint and len(shape) == 1 else ""
        raise ValueError(f"{name} must be 2-D (N samples, d units), got shape {shape}{extra}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {shape}")


# ---- the intakes ---------------------------------------------------------------------------------
def as_activations(x: Any, name: str = "T") -> Any:
    """An (N, d) activation matrix as C-contiguous float32, without a copy when it already is.

    numpy arrays and CPU tensors give a numpy array; a CUDA tensor gives a tensor on its device.
    Other real dtypes (float64, float16, integers, bool) are converted to float32. NaN or inf,
    empty, ragged or non-2-D input raises ValueError; non-numeric dtypes raise TypeError.
    """
    a = _intake(x, name)
    kind = _kind(a)
    if kind not in "fiub":
        complex_note = " (complex)" if kind == "c" else ""
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}{complex_note}")
    _check_matrix(a, name, hint="yes")
    if kind == "f":
        bad = _n_nonfinite(a)
        if bad:
            raise ValueError(f"{name} contains NaN or inf ({bad} of {_numel(a)} values)")
    converted = _astype(a, "float32")
    if converted is not a and kind == "f" and _n_nonfinite(converted):
        raise ValueError(f"{name} has values beyond the float32 range (|x| > 3.4e38)")
    return converted


def as_codes(x: Any, name: str = "codes") -> Any:
    """An (N, d) integer matrix of bin codes as contiguous int32 (a CUDA tensor stays on its device)."""
    a = _intake(x, name)
    if _kind(a) not in "iub":
        raise TypeError(f"{name} must be an integer matrix of bin codes, got dtype {a.dtype}")
    _check_matrix(a, name)
    if str(a.dtype).rsplit(".", 1)[-1] not in ("int32", "bool"):
        lo, hi = _min_max(a)
        if lo < -(2**31) or hi >= 2**31:
            raise ValueError(f"{name} has codes outside the int32 range")
    return _astype(a, "int32")


def as_group_ids(y: Any, n: int, name: str = "labels", device: Any = None) -> tuple[Any, int]:
    """Group ids 0..G-1 as contiguous int32 for N samples, and G; a tensor on ``device`` if given.

    Any 1-D sequence of hashable, sortable values works (class indices, strings, input ids);
    one-hot label matrices must be turned into class indices first. Floats must be
    integer-valued (ValueError otherwise: continuous values are not classes). Labels are N small
    values: they are mapped on the host (one copy of N ids, never of activations).
    """
    a = _host_numpy(y.detach().cpu() if is_cuda_tensor(y) else y, name)
    if a.ndim == 2 and a.shape[0] == n and a.shape[1] > 1:
        raise ValueError(
            f"{name} must be 1-D class indices, got a 2-D array of shape {a.shape}; "
            f"for one-hot labels pass {name}.argmax(1)"
        )
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one entry per sample, got shape {a.shape}")
    if a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} entries but the activations have N = {n} rows")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    if a.dtype.kind not in "fiubUS":
        raise TypeError(f"{name} must be integers, floats, bools or strings, got dtype {a.dtype}")
    if a.dtype.kind == "f":
        # Non-integer floats are almost always a mistake (continuous targets, probabilities,
        # rng.random(N)): every value would be its own group, so N groups and I(T;Y) = I(X;T) =
        # log2 N with no hint why. Integer-valued floats (labels stored as 0.0, 1.0, ...) are fine.
        fractional = a != np.floor(a)
        if fractional.any():
            k = int(np.flatnonzero(fractional)[0])
            raise ValueError(
                f"{name} must be class indices (integers, or integer-valued floats), got "
                f"non-integer floats ({int(fractional.sum())} of {a.shape[0]}, e.g. {name}[{k}] = "
                f"{float(a[k])!r}); continuous targets or probabilities would make every sample its own "
                f"class: pass class indices, e.g. {name}.argmax(1) of one-hot/probabilities or "
                f"np.digitize of a continuous target"
            )
    _, inverse = np.unique(a, return_inverse=True)
    ids = np.ascontiguousarray(inverse.reshape(-1), dtype=np.int32)
    n_groups = int(ids.max()) + 1
    if device is None:
        return ids, n_groups
    import torch

    return torch.from_numpy(ids).to(device), n_groups
