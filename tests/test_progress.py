"""The run's progress bar weighs a recorded epoch as its cost (runner._Progress)."""

from __future__ import annotations

import pytest

from ibfast.experiment import ExperimentConfig
from ibfast.experiment.schedule import log_spaced_epochs
from ibfast.sweep.runner import RECORDED_EPOCH_WEIGHT, _Progress
from ibfast.sweep.tasks import Task


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _task(**kw):
    return Task(ExperimentConfig(**{"epochs": 10, "record_epochs": (0, 1, 2, 5), **kw}))


def test_weighted_total_counts_recorded_epochs_at_their_weight():
    a, b = _task(), _task(activation="relu")
    bar = _Progress([a, b], set(), False, weight=5.0)
    assert bar.total() == 2 * (6 + 5 * 4)  # 6 plain + 4 recorded epochs each
    assert bar.done() == 0
    done = _Progress([a, b], {a.task_id}, False, weight=5.0)
    assert done.done() == 6 + 5 * 4  # a finished task counts in full
    # the default schedule: the log-spaced records of the configuration
    c = Task(ExperimentConfig(epochs=100, record_points=20))
    n_rec = len(log_spaced_epochs(100, 20))
    assert _Progress([c], set(), False).total() == pytest.approx(100 - n_rec + RECORDED_EPOCH_WEIGHT * n_rec)


def test_increments_are_the_weighted_epochs_each_report_covers():
    t = _task()
    # a clock that stands still: no pace to learn from, so the weight stays 5 (real time would
    # fit a weight to microsecond noise)
    bar = _Progress([t], set(), False, weight=5.0, clock=_Clock())
    bar.epochs_done(t.task_id, 2)  # epochs 0, 1: both recorded
    assert bar.done() == 10
    bar.epochs_done(t.task_id, 5)  # 2 (recorded), 3, 4
    assert bar.done() == 10 + 5 + 2
    bar.epochs_done(t.task_id, 4)  # a stale report changes nothing
    assert bar.done() == 17
    bar.epochs_done(t.task_id, 99)  # clipped to the task's epochs
    assert bar.done() == bar.total() == 6 + 5 * 4


def test_the_weight_is_learned_from_the_measured_pace():
    # plain epochs take 1 s and recorded ones 4 s: after reports of different mixes the weight is 4
    t = Task(ExperimentConfig(epochs=400, record_points=60))
    clock = _Clock()
    bar = _Progress([t], set(), False, weight=RECORDED_EPOCH_WEIGHT, clock=clock)
    rec = bar.recorded[t.task_id]
    n = 0
    for upto in (8, 16, 40, 80, 160, 240, 400):
        clock.t += sum(4.0 if e in rec else 1.0 for e in range(n, upto))
        bar.epochs_done(t.task_id, upto)
        n = upto
    assert bar.weight == pytest.approx(4.0, rel=1e-6)
    assert bar.done() == bar.total()
    # the ETA this weight gives: the cost left divided by the pace is the true time left
    fresh = _Progress([t], set(), False, weight=bar.weight, clock=_Clock())
    fresh.epochs_done(t.task_id, 40)
    true_total = sum(4.0 if e in rec else 1.0 for e in range(400))
    assert fresh.done() / fresh.total() == pytest.approx(
        sum(4.0 if e in rec else 1.0 for e in range(40)) / true_total)


def test_the_bar_follows_a_new_weight(capsys):
    t = _task(epochs=40, record_epochs=(0, 1, 2, 3, 20))
    clock = _Clock()
    bar = _Progress([t], set(), True, weight=2.0, clock=clock)
    try:
        for upto, dt in ((2, 20.0), (4, 20.0), (20, 16.0), (30, 20.0)):  # recorded 10 s, plain 1 s
            clock.t += dt
            bar.epochs_done(t.task_id, upto)
        assert bar.weight == pytest.approx(10.0)
        assert bar.bar.total == pytest.approx(bar.total()) and bar.bar.n == pytest.approx(bar.done())
    finally:
        bar.close()
