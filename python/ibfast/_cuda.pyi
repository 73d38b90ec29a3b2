"""Type stubs of the compiled CUDA module (csrc/bindings/module_cuda.cpp): device pointers,
sizes and a stream as integers. Call it through ibfast.kernels."""

import numpy as np
import numpy.typing as npt

max_edges: int
architectures: str

class OutOfMemoryError(MemoryError):
    """A CUDA allocation failed (cudaErrorMemoryAllocation); other CUDA errors are RuntimeError."""

def device_count() -> int: ...
def device_error() -> str: ...
def scratch_peak_bytes(reset: bool = False) -> int: ...
def bin_by_edges(x: int, count: int, edges: npt.NDArray[np.float64], codes: int, stream: int) -> None: ...
def bin_by_width(x: int, count: int, width: float, codes: int, stream: int) -> None: ...
def ebab_edges(
    x: int, count: int, n_bins: int, lower: float | None, stream: int
) -> npt.NDArray[np.float64]: ...
def row_entropy(
    codes: int, n: int, d: int, groupings: list[int], n_groups: list[int], stream: int
) -> tuple[float, list[float], int]: ...
def binned_row_entropy(
    x: int,
    n: int,
    d: int,
    edges: npt.NDArray[np.float64] | None,
    width: float | None,
    groupings: list[int],
    n_groups: list[int],
    hash_bits: int,
    stream: int,
) -> tuple[float, list[float], int]: ...
def kde_log_sum_exp(
    items: list[tuple[int, int, int, list[float], int, list[int], list[int]]], stream: int
) -> None: ...
