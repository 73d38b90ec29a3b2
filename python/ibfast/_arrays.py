"""Array intake: numpy arrays and torch tensors -> validated, C-contiguous float32 / int32.

Validation happens here, once, before any kernel runs: the kernels trust what they get.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_MAX_DIM_PRODUCT = 2**62


def _is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def is_cuda_tensor(x: Any) -> bool:
    """A torch tensor on a CUDA device (computed there by ibfast._cuda, never copied to host)."""
    return _is_torch_tensor(x) and x.device.type == "cuda"


def _torch_to_numpy(x: Any, name: str) -> np.ndarray:
    t = x.detach()
    if t.device.type != "cpu":
        raise ValueError(f"{name} is a torch tensor on {t.device}; ibfast computes on the CPU or on CUDA")
    if t.is_complex():
        raise TypeError(f"{name} has complex dtype {t.dtype}; activations must be real")
    if t.dtype.is_floating_point and t.dtype != _torch_float32():
        t = t.float()  # float16/bfloat16/float64 -> float32 (numpy has no bfloat16)
    if t.dtype == _torch_bool():
        t = t.to(_torch_float32())
    return np.asarray(t.contiguous().numpy())


def _torch_float32() -> Any:
    import torch

    return torch.float32


def _torch_integer_dtypes() -> tuple[Any, ...]:
    import torch

    unsigned = tuple(getattr(torch, n) for n in ("uint16", "uint32", "uint64") if hasattr(torch, n))
    return (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, *unsigned)


def _torch_bool() -> Any:
    import torch

    return torch.bool


def _as_numpy(x: Any, name: str) -> np.ndarray:
    if _is_torch_tensor(x):
        return _torch_to_numpy(x, name)
    try:
        return np.asarray(x)
    except ValueError as err:  # numpy refuses ragged nested sequences
        raise ValueError(f"{name} is ragged (rows of different lengths): {err}") from None


def as_activations(x: Any, name: str = "T") -> np.ndarray:
    """An (N, d) activation matrix as C-contiguous float32, without a copy when it already is.

    numpy arrays and CPU torch tensors are accepted. Other real dtypes (float64, float16,
    integers, bool) are converted to float32. NaN or inf, empty, ragged or non-2-D input raises
    ValueError; non-numeric dtypes raise TypeError.
    """
    a = _as_numpy(x, name)
    if a.dtype.kind not in "fiub":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {a.dtype}"
            + (" (complex)" if a.dtype.kind == "c" else "")
        )
    if a.ndim != 2:
        hint = " (one unit: use x.reshape(-1, 1))" if a.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (N samples, d units), got shape {a.shape}{hint}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {a.shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} contains NaN or inf ({bad} of {a.size} values)")
    if a.dtype != np.float32:
        with np.errstate(over="ignore"):
            a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ValueError(f"{name} has values beyond the float32 range (|x| > 3.4e38)")
    return np.ascontiguousarray(a)


def as_cuda_activations(x: Any, name: str = "T") -> Any:
    """An (N, d) CUDA tensor as contiguous float32 on its device, validated there (no host copy).

    The same rules as ``as_activations``: other real dtypes are converted, NaN/inf, empty and
    non-2-D input raise ValueError, complex input TypeError.
    """
    import torch

    t = x.detach()
    if t.is_complex() or not (t.dtype.is_floating_point or t.dtype in _torch_integer_dtypes()):
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    if t.dim() != 2:
        hint = " (one unit: use x.reshape(-1, 1))" if t.dim() == 1 else ""
        raise ValueError(f"{name} must be 2-D (N samples, d units), got shape {tuple(t.shape)}{hint}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(t.shape)}")
    if t.dtype.is_floating_point:
        finite = torch.isfinite(t)
        if not bool(finite.all()):
            bad = int(t.numel() - int(finite.sum()))
            raise ValueError(f"{name} contains NaN or inf ({bad} of {t.numel()} values)")
    if t.dtype != torch.float32:
        t = t.to(torch.float32)
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} has values beyond the float32 range (|x| > 3.4e38)")
    return t.contiguous()


def as_cuda_group_ids(y: Any, n: int, device: Any, name: str = "labels") -> tuple[Any, int]:
    """Group ids 0..G-1 as a contiguous int32 tensor on ``device``, and G.

    Labels are N small integers: they are mapped on the host (one copy of N ids, not of any
    activations) with the same rules as ``as_group_ids``.
    """
    import torch

    host = y.detach().cpu() if _is_torch_tensor(y) else y
    ids, n_groups = as_group_ids(host, n, name)
    return torch.from_numpy(ids).to(device), n_groups


def as_group_ids(y: Any, n: int, name: str = "labels") -> tuple[np.ndarray, int]:
    """Group ids 0..G-1 as C-contiguous int32 for N samples, and G.

    Any 1-D sequence of hashable, sortable values works (class indices, strings, input ids);
    one-hot label matrices must be turned into class indices first.
    """
    a = _as_numpy(y, name)
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
    _, inverse = np.unique(a, return_inverse=True)
    inverse = inverse.reshape(-1)
    return np.ascontiguousarray(inverse, dtype=np.int32), int(inverse.max()) + 1


def as_codes(x: Any, name: str = "codes") -> np.ndarray:
    """An (N, d) integer matrix of bin codes as C-contiguous int32."""
    a = _as_numpy(x, name)
    if a.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer matrix of bin codes, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N samples, d units), got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {a.shape}")
    if a.dtype != np.int32:
        info = np.iinfo(np.int32)
        if a.dtype.kind != "b" and (a.min() < info.min or a.max() > info.max):
            raise ValueError(f"{name} has codes outside the int32 range")
        a = a.astype(np.int32)
    return np.ascontiguousarray(a)


def real_number(value: Any, name: str, what: str = "a real number") -> float:
    """A parameter that must be a real number (bools are not); TypeError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return float(value)


def finite_real(value: Any, name: str, what: str = "a real number") -> float:
    """A parameter that must be a finite real number."""
    v = real_number(value, name, what)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def as_cuda_codes(x: Any, name: str = "codes") -> Any:
    """A CUDA integer tensor of bin codes as contiguous int32 on its device (as_codes' rules)."""
    import torch

    c = x.detach()
    if c.dtype.is_floating_point or c.is_complex():
        raise TypeError(f"{name} must be an integer matrix of bin codes, got dtype {c.dtype}")
    if c.dim() != 2:
        raise ValueError(f"{name} must be 2-D (N samples, d units), got shape {tuple(c.shape)}")
    if c.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(c.shape)}")
    if c.dtype not in (torch.int32, torch.bool) and (int(c.min()) < -(2**31) or int(c.max()) >= 2**31):
        raise ValueError(f"{name} has codes outside the int32 range")
    return c.to(torch.int32).contiguous()


def positive_finite(value: Any, name: str) -> float:
    """A parameter that must be a positive finite real number."""
    v = real_number(value, name)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return v


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)
