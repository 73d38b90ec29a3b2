"""Sweeps: tasks, resume after SIGKILL, refusal of another grid, failures, local workers and Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pd = pytest.importorskip("pandas")
from ibfast.cli import main  # noqa: E402
from ibfast.experiment import Experiment, ExperimentConfig  # noqa: E402
from ibfast.sweep import Grid, SweepFolder, run_sweep  # noqa: E402

KEY = ["activation", "l2", "seed", "epoch", "layer", "estimator"]
FIXED = {"epochs": 5, "hidden": [6, 4], "record_epochs": [0, 4], "estimators": ["ebab", "kde_upper"]}


def _grid(**kw):
    base = dict(fixed=FIXED, axes={"activation": ["tanh", "relu"], "l2": [0.0, 0.015]}, seeds=4,
                seeds_per_task=2)
    base.update(kw)
    return Grid(**base)


def _sorted(df):
    return df.sort_values(KEY).reset_index(drop=True)


def test_grid_expands_into_seed_blocks_with_stable_ids():
    tasks = _grid(seeds=5).tasks()
    assert len(tasks) == 4 * 3  # 4 grid points x seed blocks (0,1), (2,3), (4,)
    assert [t.config.seeds for t in tasks[:3]] == [(0, 1), (2, 3), (4,)]
    assert len({t.task_id for t in tasks}) == 12
    assert [t.task_id for t in _grid(seeds=5).tasks()] == [t.task_id for t in tasks]  # stable
    with pytest.raises(ValueError, match="grid axis 'l2' must be a non-empty list"):
        _grid(axes={"l2": 0.1}).tasks()
    with pytest.raises(ValueError, match="unknown activation"):
        _grid(axes={"activation": ["tanh", "nope"]}).tasks()


def test_a_task_equals_the_same_experiment_run_directly(tmp_path):
    result = run_sweep(_grid(axes={"activation": ["relu"]}, seeds=2), tmp_path, plots=False)
    direct = Experiment(ExperimentConfig(**FIXED, activation="relu", seeds=(0, 1))).run()
    pd.testing.assert_frame_equal(_sorted(result.table), _sorted(direct))


def test_two_local_workers_give_the_rows_of_the_in_process_sweep(tmp_path):
    # unpacked: with two workers packs are cut per worker, which changes float rounding only
    here = run_sweep(_grid(), tmp_path / "here", plots=False, pack_seeds=0)
    workers = run_sweep(_grid(), tmp_path / "workers", workers=2, plots=False, pack_seeds=0)
    assert len(workers.finished) == 8 and not workers.failed
    pd.testing.assert_frame_equal(_sorted(here.table), _sorted(workers.table))
    assert len(list((tmp_path / "workers" / "runs").glob("*.parquet"))) == 8


def test_restart_skips_finished_tasks_and_another_grid_is_refused(tmp_path):
    first = run_sweep(_grid(), tmp_path, plots=False)
    again = run_sweep(_grid(), tmp_path, plots=False)
    assert len(again.skipped) == 8 and not again.finished
    pd.testing.assert_frame_equal(first.table, again.table)
    with pytest.raises(ValueError, match="holds another sweep"):
        run_sweep(_grid(axes={"activation": ["swish"]}), tmp_path, plots=False)
    more = run_sweep(_grid(axes={"activation": ["swish"], "l2": [0.0]}), tmp_path, extend=True, plots=False)
    assert more.n_tasks == 8 + 2 and len(more.finished) == 2 and len(more.skipped) == 8
    assert set(more.table["activation"]) == {"tanh", "relu", "swish"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["grids"]) == 2 and len(manifest["task_ids"]) == 10
    # a damaged run file is not "done": it runs again
    victim = SweepFolder(tmp_path).run_file(_grid().tasks()[0])
    victim.write_bytes(b"PAR1 broken")
    redo = run_sweep(_grid(axes={"activation": ["swish"], "l2": [0.0]}), tmp_path, extend=True, plots=False)
    assert len(redo.finished) == 1 and redo.finished[0] == victim.stem


FLAKY = textwrap.dedent('''
    import os
    import ibfast

    class Flaky(ibfast.EBAB):
        """EBAB that fails for ReLU layers while the flag file exists."""

        name = "flaky"

        def _estimate(self, xs, groups):
            # xs[0] is the first seed's first hidden layer: ReLU's has no negative value
            if os.path.exists("FAIL") and float(xs[0].min()) >= 0.0:
                raise RuntimeError("flaky estimator failed on purpose")
            return super()._estimate(xs, groups)

    ibfast.register_estimator("flaky", lambda s: Flaky())
''')


def test_a_failing_task_is_recorded_the_sweep_goes_on_and_the_next_start_retries(tmp_path, monkeypatch,
                                                                               capsys):
    (tmp_path / "flaky_plugin.py").write_text(FLAKY)
    (tmp_path / "FAIL").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    from ibfast.estimators import registry

    try:
        args = ["sweep", "--plugin", "flaky_plugin", "--activation", "tanh", "relu", "--seeds", "2",
                "--seeds-per-task", "1", "--epochs", "3", "--hidden", "5", "--estimators", "flaky",
                "--set", "record_epochs=[0, 2]", "--workers", "0", "--out", "out", "--no-progress",
                "--no-plots", "--pack-seeds", "0"]
        rc = main(args)
        assert rc == 2  # the exit code is the number of failed tasks: ReLU's two seed blocks
        failed = sorted((tmp_path / "out" / "failed").glob("*.json"))
        assert len(failed) == 2
        record = json.loads(failed[0].read_text())
        assert record["config"]["activation"] == "relu" and "failed on purpose" in record["traceback"]
        assert len(list((tmp_path / "out" / "runs").glob("*.parquet"))) == 2  # tanh went on
        (tmp_path / "FAIL").unlink()
        assert main(args) == 0
        assert not list((tmp_path / "out" / "failed").glob("*.json"))
        assert "2 already done, 2 run now, 0 failed" in capsys.readouterr().out
        df = pd.read_parquet(tmp_path / "out" / "results.parquet")
        assert set(df["activation"]) == {"tanh", "relu"} and not df.duplicated(KEY).any()
    finally:
        registry._REGISTRY.pop("flaky", None)
        sys.modules.pop("flaky_plugin", None)


def test_a_sweep_killed_by_sigkill_resumes_with_every_task_once(tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "ibfast.cli", "sweep", "--activation", "tanh", "relu", "swish",
           "--l2", "0", "0.015", "--seeds", "2", "--seeds-per-task", "1", "--epochs", "60",
           "--hidden", "8", "5",
           "--estimators", "ebab", "--set", "record_points=6", "--workers", "1", "--out", str(out),
           "--no-progress", "--no-plots", "--pack-seeds", "2"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    runs = out / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (runs.is_dir() and any(runs.glob("*.parquet"))):
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker process, mid-way
    proc.wait()
    done_before = {p.stem for p in runs.glob("*.parquet")}
    assert 1 <= len(done_before) < 12, "the kill should land mid-way"
    # A kill during a write may leave its temporary file (a pack writes its tasks one after the
    # other, and the kill follows the first): never a run, and removed when the sweep resumes.
    assert all(not t.name.endswith(".parquet") for t in runs.glob(".*.tmp"))
    assert main(cmd[3:]) == 0  # the same command again
    assert not list(runs.glob(".*.tmp"))
    tasks = SweepFolder(out).read_manifest()["task_ids"]
    assert sorted(p.stem for p in runs.glob("*.parquet")) == sorted(tasks) and len(tasks) == 12
    resumed = pd.read_parquet(out / "results.parquet")
    assert not resumed.duplicated(KEY).any()
    clean = run_sweep(Grid(fixed={"epochs": 60, "hidden": [8, 5], "estimators": ["ebab"], "record_points": 6},
                           axes={"activation": ["tanh", "relu", "swish"], "l2": [0.0, 0.015]},
                           seeds=2, seeds_per_task=1), tmp_path / "clean", plots=False, pack_seeds=2)
    pd.testing.assert_frame_equal(_sorted(resumed), _sorted(clean.table))


def test_the_dask_path_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        seen = []
        result = run_sweep(_grid(), tmp_path / "dask", scheduler=cluster.scheduler_address, plots=False,
                           on_task=lambda status, task: seen.append(status))
    assert seen.count("finished") == 8 and not result.failed
    here = run_sweep(_grid(), tmp_path / "here", plots=False)
    pd.testing.assert_frame_equal(_sorted(result.table), _sorted(here.table))


def test_summary_and_plot_commands_read_a_sweep_folder(tmp_path, capsys):
    run_sweep(_grid(axes={"activation": ["tanh"]}), tmp_path, plots=False)
    assert main(["summary", str(tmp_path)]) == 0
    assert "peak_i_xt" in capsys.readouterr().out
    assert (tmp_path / "summary.csv").is_file() and (tmp_path / "compression.csv").is_file()
    assert main(["plot", str(tmp_path), "--estimator", "ebab"]) == 0
    assert (tmp_path / "figures" / "infoplane_ebab.svg").is_file()
    assert main(["summary", str(tmp_path / "nothing")]) == 2


def test_setup_mistakes_stop_the_sweep_before_any_task(tmp_path, capsys):
    rc = main(["sweep", "--activation", "tanh", "--seeds", "2", "--epochs", "2", "--set",
               "batch_size=5000", "--workers", "0", "--out", str(tmp_path / "s"), "--no-progress"])
    assert rc == 2 and "batch_size 5000 exceeds" in capsys.readouterr().err
    assert not (tmp_path / "s" / "runs").exists()


def test_one_sweep_at_a_time_per_folder_and_stale_temp_files_go(tmp_path):
    folder = SweepFolder(tmp_path)
    (tmp_path / "runs").mkdir()
    stale = tmp_path / "runs" / ".abc.parquet.x1.tmp"
    stale.write_bytes(b"half")
    with folder.lock():
        assert not stale.exists()
        with pytest.raises(ValueError, match="another sweep is running"):
            run_sweep(_grid(), tmp_path, plots=False)
    after = run_sweep(_grid(axes={"activation": ["tanh"], "l2": [0.0]}), tmp_path, plots=False)
    assert len(after.finished) == 2  # the lock went with the context


def test_int_and_float_values_are_one_setting():
    a = Grid(fixed=FIXED, axes={"l2": [0, 1]}, seeds=1).tasks()
    b = Grid(fixed=FIXED, axes={"l2": [0.0, 1.0]}, seeds=1).tasks()
    assert [t.task_id for t in a] == [t.task_id for t in b]


def test_summary_of_a_killed_run_folder_and_configs_kept(tmp_path, capsys):
    from ibfast.results import read_configs

    run_sweep(_grid(axes={"activation": ["tanh"]}), tmp_path / "sweep", plots=False)
    assert main(["summary", str(tmp_path / "sweep")]) == 0
    assert len(read_configs(tmp_path / "sweep")) == 2  # summary rebuilt the table with its 2 tasks' configs
    # an `ibfast run` killed after its first configuration: runs/ only, no combined table yet
    killed = tmp_path / "killed"
    (killed / "runs").mkdir(parents=True)
    first = sorted((tmp_path / "sweep" / "runs").glob("*.parquet"))[0]
    (killed / "runs" / first.name).write_bytes(first.read_bytes())
    assert main(["summary", str(killed)]) == 0
    assert "peak_i_xt" in capsys.readouterr().out


def test_packs_depend_on_the_grid_only_and_give_each_task_its_own_numbers(tmp_path):
    from ibfast.sweep.runner import make_packs

    tasks = _grid().tasks()  # 4 points x 2 blocks of 2 seeds
    assert [len(p) for p in make_packs(tasks, 80)] == [8]
    assert [len(p) for p in make_packs(tasks, 4)] == [2, 2, 2, 2]
    assert make_packs(tasks, 0) == [[t] for t in tasks]
    mixed = tasks + Grid(fixed={**FIXED, "lr": 1e-3}, axes={"activation": ["tanh"]}, seeds=2).tasks()
    assert [len(p) for p in make_packs(mixed, 80)] == [8, 1]  # another lr: another model
    packed = run_sweep(_grid(), tmp_path / "packed", plots=False)  # one model of 16 seeds
    alone = run_sweep(_grid(), tmp_path / "alone", plots=False, pack_seeds=0)
    assert len(list((tmp_path / "packed" / "runs").glob("*.parquet"))) == 8
    a, b = _sorted(packed.table), _sorted(alone.table)
    measures = ["i_xt", "i_ty", "h_t", "train_loss", "train_acc", "test_loss", "test_acc"]
    pd.testing.assert_frame_equal(a.drop(columns=measures), b.drop(columns=measures))
    kde = a["estimator"] == "kde_upper"  # continuous: float rounding of the batched matmuls only
    np.testing.assert_allclose(a.loc[kde, "i_xt"], b.loc[kde, "i_xt"], rtol=1e-4)
    np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-5)


def test_a_pack_killed_mid_training_continues_from_its_checkpoint_with_identical_rows(tmp_path, monkeypatch):
    """Kill the sweep at a random moment after its pack's first checkpoint; the same command
    continues from the checkpoint (not from epoch 0) and gives the rows of a run never killed.
    The ibfast protocol reshuffles per seed, so the batch order's generator state is restored too."""
    from ibfast.experiment.checkpoint import Checkpoint

    out = tmp_path / "killed"
    flags = ["--activation", "tanh", "relu", "--seeds", "2", "--epochs", "600", "--hidden", "8", "5",
             "--estimators", "ebab", "kde_upper", "--record-points", "40", "--protocol", "ibfast",
             "--workers", "0", "--no-progress", "--no-plots"]
    cmd = [sys.executable, "-m", "ibfast.cli", "sweep", *flags, "--checkpoint-minutes", "0.003",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoints = out / "checkpoints"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (checkpoints.is_dir() and any(checkpoints.glob("*.pt"))):
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before its first checkpoint: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.02)
    time.sleep(float(np.random.default_rng().uniform(0.0, 1.0)))  # a random moment after it
    proc.kill()
    proc.wait()
    assert not list((out / "runs").glob("*.parquet")), "the pack should not have finished"
    loaded = []
    real_load = Checkpoint.load

    def spy(self):
        state = real_load(self)
        loaded.append(None if state is None else state["epoch"])
        return state

    monkeypatch.setattr(Checkpoint, "load", spy)
    assert main(["sweep", *flags, "--checkpoint-minutes", "0.003", "--out", str(out)]) == 0
    assert loaded and loaded[0] is not None and 0 < loaded[0] < 600  # continued, not restarted
    assert not list(checkpoints.glob("*.pt"))  # gone once the pack's files are written
    resumed = pd.read_parquet(out / "results.parquet")
    assert main(["sweep", *flags, "--checkpoint-minutes", "0", "--out", str(tmp_path / "clean")]) == 0
    clean = pd.read_parquet(tmp_path / "clean" / "results.parquet")
    pd.testing.assert_frame_equal(_sorted(resumed), _sorted(clean))


def test_packs_are_cut_so_that_every_worker_has_one():
    from ibfast.sweep.runner import make_packs

    tasks = _grid().tasks()  # 4 points x 2 blocks of 2 seeds: 16 seeds in one group
    assert [len(p) for p in make_packs(tasks, 80, workers=2)] == [4, 4]
    assert [len(p) for p in make_packs(tasks, 80, workers=8)] == [1] * 8
    assert [len(p) for p in make_packs(tasks, 4, workers=2)] == [2, 2, 2, 2]  # pack_seeds still bounds
