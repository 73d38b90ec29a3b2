"""Type stubs of the compiled CPU module (csrc/bindings). Call it through ibfast.kernels."""

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

def bin_by_edges(x: npt.NDArray[np.float32], edges: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]: ...
def bin_by_width(x: npt.NDArray[np.float32], width: float) -> npt.NDArray[np.int32]: ...
def sorted_distinct(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
def ebab_edges(x: npt.NDArray[np.float32], n_bins: int, lower: float | None) -> npt.NDArray[np.float64]: ...
def count_nonfinite(x: npt.NDArray[np.float32]) -> int: ...
def min_max(x: npt.NDArray[np.float32]) -> tuple[float, float]: ...
def row_entropy(
    codes: npt.NDArray[np.int32], groupings: list[npt.NDArray[np.int32]], n_groups: list[int]
) -> tuple[float, list[float], int]: ...
def binned_row_entropy(
    x: npt.NDArray[np.float32],
    edges: npt.NDArray[np.float64] | None,
    width: float | None,
    groupings: list[npt.NDArray[np.int32]],
    n_groups: list[int],
    hash_bits: int = 64,
) -> tuple[float, list[float], int]: ...
def kde_log_sum_exp(
    x: npt.NDArray[np.float32], alpha: float, groups: npt.NDArray[np.int32] | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]: ...
def kde_log_sum_exp_alphas(
    x: npt.NDArray[np.float32], alphas: list[float], groups: npt.NDArray[np.int32] | None = None,
    symmetric: bool = True,
) -> list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]]: ...
def kde_log_sum_exp_many(
    xs: list[npt.NDArray[np.float32]], alphas: list[list[float]], groups: list[npt.NDArray[np.int32] | None],
    symmetric: bool = True,
) -> list[list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]]]: ...
def build_info() -> dict[str, Any]: ...
def set_num_threads(n: int) -> None: ...
class ActivationKind:
    """ibfast/activations.hpp's ActivationKind (a pybind11 enum): kinds[s] of the activation passes."""

    linear: ClassVar[ActivationKind]
    tanh: ClassVar[ActivationKind]
    relu: ClassVar[ActivationKind]
    elu: ClassVar[ActivationKind]
    softplus: ClassVar[ActivationKind]
    centred_softplus: ClassVar[ActivationKind]
    softsign: ClassVar[ActivationKind]
    leaky_relu: ClassVar[ActivationKind]
    silu: ClassVar[ActivationKind]
    sigmoid: ClassVar[ActivationKind]
    abs: ClassVar[ActivationKind]
    prelu: ClassVar[ActivationKind]
    __members__: ClassVar[dict[str, ActivationKind]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

def activations_forward(
    z: npt.NDArray[np.float32], h: npt.NDArray[np.float32], derivative: npt.NDArray[np.float32] | None,
    kinds: npt.NDArray[np.int32], params: npt.NDArray[np.float32] | None = None,
) -> None: ...
def activations_backward(
    z: npt.NDArray[np.float32], derivative: npt.NDArray[np.float32], grad_h: npt.NDArray[np.float32],
    grad_z: npt.NDArray[np.float32], kinds: npt.NDArray[np.int32],
    grad_params: npt.NDArray[np.float32] | None = None,
) -> None: ...
