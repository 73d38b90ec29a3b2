"""From the tidy results table to evidence: per-run compression, statistics across seeds, and the
paper's four claims as pre-declared primary tests with verdicts. Pure pandas / scipy; no training
here."""

from .claims import all_claims, analysis_groups, claim1, claim2, claim3, claim4, headline
from .fits import line_fit
from .keys import KEYS, Keys
from .runs import contrast, curve_noise, mean_curve_compression, noise_multiplier, noise_window, per_run
from .stats import across_seeds, combine, decide, describe, holm
from .summary import summary

__all__ = [
    "KEYS",
    "Keys",
    "across_seeds",
    "all_claims",
    "analysis_groups",
    "claim1",
    "claim2",
    "claim3",
    "claim4",
    "combine",
    "contrast",
    "curve_noise",
    "decide",
    "describe",
    "headline",
    "holm",
    "line_fit",
    "mean_curve_compression",
    "noise_multiplier",
    "noise_window",
    "per_run",
    "summary",
]
