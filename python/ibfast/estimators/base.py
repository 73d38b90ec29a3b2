"""The estimator contract every estimator implements, built-in or a user's.

    estimator(T, labels=None, *, input_ids=None, device="auto") -> MIResult
    estimator.many(Ts, labels=None, *, input_ids=None, device="auto") -> list[MIResult]
    estimator.name, estimator.params(), repr(estimator)

A subclass writes ``_estimate`` (validated layers in, results out) and ``params``; the base class
does the intake once for every path (numpy, CPU or CUDA tensors), maps the labels and input ids
once per distinct (N, device), and converts nats to the requested units.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, NamedTuple

from .._dispatch import Array, group_ids_like, intake
from .._units import Units, check_units, from_nats
from .result import MIResult


class Groups(NamedTuple):
    """The validated groupings of one layer's N samples (ids on the layer's device)."""

    labels: Array | None
    n_labels: int
    input_ids: Array | None
    n_inputs: int


class Estimator(ABC):
    """Base class of every estimator.

    ``many(Ts, labels)`` promises exactly the results of ``[est(T, labels) for T in Ts]`` (tested
    for every built-in estimator); where the backend can batch (the KDE family on CUDA: one
    launch for every layer and seed of an epoch) it does. All Ts share the labels and input ids,
    so they must have the same N; they may differ in width.
    """

    #: The name results carry and the registry knows the estimator by.
    name: str = "estimator"

    def __init__(self, units: str = "bits") -> None:
        self.units: Units = check_units(units)

    # -- what a subclass provides ------------------------------------------------------------------
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The settings that determine the numbers, as a flat dict of plain values (units included)."""

    @abstractmethod
    def _estimate(self, xs: list[Array], groups: list[Groups]) -> list[MIResult]:
        """Results for validated layers (all on the CPU or all on one CUDA device)."""

    # -- the contract --------------------------------------------------------------------------------
    def __call__(
        self, T: Any, labels: Any = None, *, input_ids: Any = None, device: str = "auto"
    ) -> MIResult:
        """I(X;T) and, with labels, I(T;Y) of one layer T (N samples x d units)."""
        return self.many([T], labels, input_ids=input_ids, device=device)[0]

    def many(
        self, Ts: Sequence[Any], labels: Any = None, *, input_ids: Any = None, device: str = "auto"
    ) -> list[MIResult]:
        """Estimates for several layers over the same samples (e.g. every layer and seed of an epoch)."""
        xs = [intake(T, device, name="T" if len(Ts) == 1 else f"Ts[{k}]") for k, T in enumerate(Ts)]
        mapped: dict[tuple[int, str], Groups] = {}
        groups = []
        for x in xs:
            key = (x.shape[0], str(getattr(x, "device", "cpu")))
            if key not in mapped:
                y, n_y = (None, 0) if labels is None else group_ids_like(labels, x, "labels")
                ids, n_ids = (None, 0) if input_ids is None else group_ids_like(input_ids, x, "input_ids")
                mapped[key] = Groups(y, n_y, ids, n_ids)
            groups.append(mapped[key])
        return self._estimate(xs, groups) if xs else []

    def param_string(self) -> str:
        """``params()`` as one canonical string (JSON, sorted keys): the results tables' column."""
        return json.dumps(self.params(), sort_keys=True)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # -- for subclasses ------------------------------------------------------------------------------
    def _result(
        self, n: int, *, i_xt: float, h_t: float, h_t_given_x: float, i_ty: float | None = None,
        h_t_given_y: float | None = None, details: dict[str, Any] | None = None,
    ) -> MIResult:
        """An MIResult from quantities in nats, in this estimator's units."""
        u = self.units

        def conv(v: float | None) -> float | None:
            return None if v is None else from_nats(v, u)

        return MIResult(
            estimator=self.name, units=u, n_samples=n, i_xt=from_nats(i_xt, u), h_t=from_nats(h_t, u),
            h_t_given_x=from_nats(h_t_given_x, u), i_ty=conv(i_ty), h_t_given_y=conv(h_t_given_y),
            details=details or {},
        )
