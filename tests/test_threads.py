"""ibfast.set_num_threads holds for every kernel call in the process, from any thread: OpenMP's own
setting is per thread, and the experiment estimates in a worker thread."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import ibfast

pytestmark = pytest.mark.skipif((os.cpu_count() or 1) < 2 or not ibfast.build_info()["openmp"],
                                reason="needs OpenMP and two cores to tell one thread from all")


@pytest.fixture(autouse=True)
def _restore_threads():
    yield
    ibfast.set_num_threads(0)


def _from_new_thread() -> int:
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(ibfast.build_info()["max_threads"]))
    worker.start()
    worker.join()
    return seen[0]


def test_the_setting_holds_in_a_thread_started_after_it():
    all_cores = ibfast.build_info()["max_threads"]
    assert all_cores >= 2
    ibfast.set_num_threads(1)
    assert ibfast.build_info()["max_threads"] == 1
    assert _from_new_thread() == 1
    ibfast.set_num_threads(0)  # n < 1: all cores again
    assert _from_new_thread() == os.cpu_count()


def test_the_setting_holds_in_the_experiments_estimation_thread():
    pytest.importorskip("torch")
    from ibfast.estimators import registry
    from ibfast.experiment import Experiment, ExperimentConfig

    seen: list[tuple[str, int]] = []

    class Spy(ibfast.EBAB):
        name = "thread_spy"

        def _estimate(self, xs, groups):
            seen.append((threading.current_thread().name, ibfast.build_info()["max_threads"]))
            return super()._estimate(xs, groups)

    ibfast.register_estimator("thread_spy", lambda s: Spy())
    try:
        ibfast.set_num_threads(1)
        Experiment(ExperimentConfig(epochs=3, hidden=(5,), record_epochs=(0, 2), estimators=("thread_spy",),
                                    seeds=(0,))).run()
    finally:
        registry._REGISTRY.pop("thread_spy", None)
    assert seen and all(name != threading.main_thread().name for name, _ in seen)  # a worker thread
    assert {n for _, n in seen} == {1}


def test_results_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(3)
    t = rng.standard_normal((3000, 6)).astype(np.float32)
    y = rng.integers(0, 3, 3000)
    ests = [ibfast.EBAB(), ibfast.KDE(0.5), ibfast.AdaptiveKDE(power=2)]
    ibfast.set_num_threads(1)
    one = ibfast.estimate_together(ests, [t], y)
    ibfast.set_num_threads(2)
    two = ibfast.estimate_together(ests, [t], y)
    assert one == two
