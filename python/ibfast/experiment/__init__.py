"""Experiments: train networks from many seeds and estimate their information plane online.
Many configurations into a results folder: ``ibfast.sweep.run_all`` / ``run_sweep``."""

from .config import ExperimentConfig
from .run import Experiment
from .schedule import log_spaced_epochs

__all__ = ["Experiment", "ExperimentConfig", "log_spaced_epochs"]
