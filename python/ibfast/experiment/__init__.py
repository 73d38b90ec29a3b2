"""Experiments: train networks from many seeds and estimate their information plane online."""

from .batch import run_all
from .config import ExperimentConfig
from .run import Experiment
from .schedule import log_spaced_epochs

__all__ = ["Experiment", "ExperimentConfig", "log_spaced_epochs", "run_all"]
