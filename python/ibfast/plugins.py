"""User modules that register estimators or activations by name when imported."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence


def load_plugins(modules: Sequence[str]) -> None:
    """Import each module (its import calls ``ibfast.register_estimator`` or registers activations).

    The current working directory is searched first, so a ``my_estimators.py`` in the folder the
    command runs from works without installing it.
    A module that cannot be imported is a ValueError naming it.
    """
    if not modules:
        return
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in modules:
        if not isinstance(name, str):
            raise TypeError(f"plugins must be module names, got {type(name).__name__}")
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ValueError(f"plugin {name!r} could not be imported: {err}") from err
