"""Names that still work for one more release, each with a DeprecationWarning naming its
replacement: the renamed classes and the plumbing ``ibfast`` no longer exports.

A module lists the old names it answers for and hands them to ``deprecated_attribute`` from its
``__getattr__`` (PEP 562), so that the old name is the very object the new one is (``isinstance``
and subclassing keep working) and the warning points at the user's line.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

# old name -> (module holding the object, its name there, what to use instead)
RENAMED: dict[str, tuple[str, str, str]] = {
    "KDEBase": ("ibfast.estimators.kde", "KDEEstimator", "ibfast.KDEEstimator"),
    "BinWidth": ("ibfast.estimators.binning", "FixedWidth", "ibfast.FixedWidth"),
}
# plumbing that experiments use, no longer part of the package's top-level API
UNEXPORTED: dict[str, tuple[str, str, str]] = {
    name: ("ibfast.estimators.registry", name, f"ibfast.estimators.registry.{name}")
    for name in ("EstimatorSettings", "literature_noise_variance", "literature_bin_width")
}


def deprecated_attribute(module: str, name: str, names: dict[str, tuple[str, str, str]]) -> Any:
    """``module.name`` for an old ``name`` in ``names``, with a DeprecationWarning at the caller's
    line; AttributeError for any other name (what a module without ``__getattr__`` raises)."""
    if name not in names:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    home, new_name, instead = names[name]
    # stacklevel 3: this function, the module's __getattr__, then the line that named the attribute
    warnings.warn(f"{module}.{name} is deprecated; use {instead}", DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(home), new_name)
