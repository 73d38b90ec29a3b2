"""``ibfast reproduce``: the paper's grid, trained and estimated, analysed into a report folder."""

from .grid import PAPER_ACTIVATIONS, PAPER_ESTIMATORS, GridSpec, Projection, project
from .report import write_report
from .run import reproduce

__all__ = ["PAPER_ACTIVATIONS", "PAPER_ESTIMATORS", "GridSpec", "Projection", "project", "reproduce",
           "write_report"]
