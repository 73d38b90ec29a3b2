"""The estimator contract every estimator implements, built-in or a user's.

    estimator(T, labels=None, *, input_ids=None, device="auto") -> MIResult
    estimator.many(Ts, labels=None, *, input_ids=None, device="auto") -> list[MIResult]
    estimator.name, estimator.params(), repr(estimator)

A subclass writes ``_estimate`` (validated layers in, results out) and ``params``; the base class
does the intake once for every path (numpy, CPU or CUDA tensors), maps the labels and input ids
once per distinct (N, device), and converts nats to the requested units.

    estimate_together(estimators, Ts, labels=None, *, input_ids=None, device="auto")
        -> list[list[MIResult]]

gives, for each estimator in order, exactly ``est.many(Ts, labels, input_ids=...)``, with one intake
for all of them, and estimators that can share work computed together: those whose
``_fusion_key()`` is equal (not None) go through one ``_estimate_together`` call (the KDE family:
every bound under every noise rule, all their alphas in one batched kernel call, each sweep over
the pairs serving two alphas). An estimator whose class has ``custom_many = True`` (any class that
writes its own ``many``, unless it says otherwise) is called through its ``many`` instead.

The words: ``many`` is one estimator over many layers, ``together`` many estimators over the same
layers (``ibfast.kernels`` adds ``alphas``: one layer under many noise levels).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar, NamedTuple

from .._dispatch import Array, group_ids_like, intake
from .._units import Units, check_units, from_nats, is_saturated
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

    #: Whether ``estimate_together`` must call this class's own ``many``. False (the base class):
    #: ``many`` is the shared intake followed by ``_estimate``, so ``estimate_together`` does the
    #: intake once for every estimator and calls ``_estimate`` (or ``_estimate_together``) itself.
    #: A class that writes its own ``many`` gets True when it does not set the attribute itself
    #: (see ``__init_subclass__``): its ``many`` is then what computes its results. A class whose
    #: ``many`` adds nothing to the numbers (logging, say) may set False to keep sharing the work.
    custom_many: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Writing ``many`` without saying how it joins estimate_together: through it, so that
        # the estimator's results are always what its own ``many`` returns.
        if "many" in cls.__dict__ and "custom_many" not in cls.__dict__:
            cls.custom_many = True

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
        xs, groups = _intake(Ts, labels, input_ids, device)
        return _saturation(self._estimate(xs, groups), groups) if xs else []

    # -- computing several estimators together (estimate_together) --------------------------------
    def _fusion_key(self) -> Hashable | None:
        """Estimators with equal keys (not None) are computed by one ``_estimate_together`` call of
        the first of them in ``estimate_together``. None (the default): computed on its own."""
        return None

    def _estimate_together(
        self, members: list[Estimator], xs: list[Array], groups: list[Groups]
    ) -> list[list[MIResult]]:
        """Each member's ``_estimate(xs, groups)`` (self is members[0]; all share self's fusion
        key). A family overrides this to share work; the results must stay the same."""
        return [m._estimate(xs, groups) for m in members]

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


def _intake(
    Ts: Sequence[Any], labels: Any, input_ids: Any, device: str
) -> tuple[list[Array], list[Groups]]:
    """The layers validated for their device, and each layer's groupings (mapped once per
    distinct (N, device))."""
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
    return xs, groups


def _saturation(results: list[MIResult], groups: list[Groups]) -> list[MIResult]:
    """The results with ``saturated`` judged against the distinct inputs where input ids were
    given (MIResult's own default counts the N samples, the ceiling without input ids)."""
    out = []
    for r, g in zip(results, groups, strict=True):
        if g.input_ids is not None:
            r = dataclasses.replace(r, saturated=is_saturated(r.i_xt, g.n_inputs, r.units))
        out.append(r)
    return out


def estimate_together(
    estimators: Sequence[Estimator], Ts: Sequence[Any], labels: Any = None, *, input_ids: Any = None,
    device: str = "auto",
) -> list[list[MIResult]]:
    """``[est.many(Ts, labels, input_ids=input_ids, device=device) for est in estimators]``, the
    same results, computed together: the layers are validated and the labels mapped once, and
    estimators that can share work do (the KDE estimators: every alpha they ask for on a layer,
    whatever their bounds and noise rules, in one batched kernel call that shares each distance
    between two alphas; see ``ibfast.estimators.kde``). An estimator whose class has
    ``custom_many`` (see ``Estimator.custom_many``) is called through its own ``many``."""
    ests = list(estimators)
    for k, e in enumerate(ests):
        if not isinstance(e, Estimator):
            raise TypeError(f"estimators[{k}] is not an Estimator: {e!r}")
    out: list[list[MIResult] | None] = [None] * len(ests)
    for k, e in enumerate(ests):
        if e.custom_many:
            out[k] = e.many(Ts, labels, input_ids=input_ids, device=device)
    rest = [k for k in range(len(ests)) if out[k] is None]
    if rest:
        xs, groups = _intake(Ts, labels, input_ids, device)
        buckets: dict[tuple[str, Hashable], list[int]] = {}  # in order of first appearance
        for k in rest:
            key = ests[k]._fusion_key()
            buckets.setdefault(("alone", k) if key is None else ("together", key), []).append(k)
        for key, ks in buckets.items():
            members = [ests[k] for k in ks]
            if not xs:
                results: list[list[MIResult]] = [[] for _ in ks]
            elif key[0] == "alone":
                results = [members[0]._estimate(xs, groups)]
            else:
                results = members[0]._estimate_together(members, xs, groups)
            if len(results) != len(ks):
                raise RuntimeError(f"{type(members[0]).__name__}._estimate_together returned "
                                   f"{len(results)} result lists for {len(ks)} estimators")
            for k, r in zip(ks, results, strict=True):
                out[k] = _saturation(r, groups)
    return [r if r is not None else [] for r in out]


def many_together(
    estimators: Sequence[Estimator], Ts: Sequence[Any], labels: Any = None, *, input_ids: Any = None,
    device: str = "auto",
) -> list[list[MIResult]]:
    """Deprecated: ``estimate_together`` (the same function; this name goes in the next release)."""
    warnings.warn("ibfast.many_together is deprecated; use ibfast.estimate_together",
                  DeprecationWarning, stacklevel=2)
    return estimate_together(estimators, Ts, labels, input_ids=input_ids, device=device)
