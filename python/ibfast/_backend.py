"""What was built and what can run: the compiled modules and device resolution."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from . import _core
from ._params import integer

_cuda: ModuleType | None
try:  # The CUDA module is optional: built only where a CUDA compiler was found.
    from . import _cuda
except ImportError:
    _cuda = None


def cuda_built() -> bool:
    """Whether this installation contains the CUDA module ``ibfast._cuda``."""
    return _cuda is not None


def cuda_available() -> bool:
    """Whether CUDA kernels can run here: the module is built and a CUDA device is visible."""
    if _cuda is None:
        return False
    return bool(_cuda.device_count() > 0)


def require_cuda() -> Any:
    """The CUDA module, or a ValueError saying why CUDA cannot be used here."""
    if _cuda is None:
        raise ValueError(
            "CUDA was asked for, but this ibfast was built without its CUDA module (no CUDA "
            "compiler at build time; reinstall with nvcc on PATH and IBFAST_CUDA=ON)"
        )
    if _cuda.device_count() == 0:
        why = _cuda.device_error()
        raise ValueError(
            "CUDA was asked for, but no CUDA device is visible on this machine"
            + (f" (CUDA runtime: {why})" if why else "")
        )
    return _cuda


def resolve_device(x: Any, device: str = "auto") -> str:
    """'cpu' or 'cuda' for input x: "auto" follows the input (CUDA tensors stay on their GPU)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "auto":
        device = "cuda" if type(x).__module__.startswith("torch") and getattr(x, "is_cuda", False) else "cpu"
    if device == "cuda":
        require_cuda()
    return device


def cuda_stream(tensor: Any) -> int:
    """The current CUDA stream of the tensor's device, as the integer the kernels take."""
    import torch

    return int(torch.cuda.current_stream(tensor.device).cuda_stream)


def build_info() -> dict[str, Any]:
    """Compiler, OpenMP threads, SIMD level and CUDA status of this build."""
    info: dict[str, Any] = dict(_core.build_info())
    info["cuda_built"] = cuda_built()
    info["cuda_available"] = cuda_available()
    # CMAKE_CUDA_ARCHITECTURES as built, e.g. ["80-real", "90-real", "100-real", "110-real", "120"]
    info["cuda_architectures"] = _cuda.architectures.split(",") if _cuda is not None else None
    return info


def set_num_threads(n: int) -> None:
    """Set the number of CPU threads the kernels use; ``n < 1`` means all cores."""
    _core.set_num_threads(integer(n, "n"))
