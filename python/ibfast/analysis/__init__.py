"""From the tidy results table to evidence: per-run compression, statistics across seeds, and the
paper's four claims as tests with verdicts. Pure pandas / scipy; no training here."""

from .claims import all_claims, claim1, claim2, claim3, claim4, headline
from .runs import mean_curve_compression, noise_multiplier, noise_window, per_run
from .stats import across_seeds, describe, holm, verdict
from .summary import summary

__all__ = [
    "across_seeds",
    "all_claims",
    "claim1",
    "claim2",
    "claim3",
    "claim4",
    "describe",
    "headline",
    "holm",
    "mean_curve_compression",
    "noise_multiplier",
    "noise_window",
    "per_run",
    "summary",
    "verdict",
]
