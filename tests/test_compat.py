"""Folders written by ibfast 0.1.0 before the runner was unified (tests/fixtures, see its README)
are resumed by the current version: every task is found done, nothing is recomputed, and the
combined table is exactly the old run files' rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("torch")
from ibfast.cli import main  # noqa: E402
from ibfast.sweep import SweepFolder, Task  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = ["--epochs", "6", "--record-points", "4", "--no-progress"]
COMMANDS = {
    "v0_1_sweep": ["sweep", "--activation", "tanh", "relu", "--l2", "0", "0.015", "--seeds", "3",
                   "--seeds-per-task", "2", "--hidden", "6", "4", "--estimators", "ebab", "kde_upper",
                   "--no-plots", *SMALL],
    "v0_1_run": ["run", "--activation", "tanh", "relu", "--seeds", "2", "--hidden", "6", "4", "--no-plots",
                 *SMALL],
    "v0_1_reproduce": ["reproduce", "--quick", "--seeds", "2", "--activation", "tanh", "relu", *SMALL],
}


def _copy(name: str, tmp_path: Path) -> Path:
    out = tmp_path / name
    shutil.copytree(FIXTURES / name, out)
    return out


def _run_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "runs").glob("*.parquet"))}


@pytest.mark.parametrize("name", ["v0_1_sweep", "v0_1_reproduce"])
def test_stored_configurations_give_the_stored_task_ids(name):
    manifest = json.loads((FIXTURES / name / "manifest.json").read_text())
    ids = [Task.from_plain(c).task_id for c in manifest["configs"]]
    assert ids == manifest["task_ids"]


@pytest.mark.parametrize("name", ["v0_1_sweep", "v0_1_run"])
def test_an_old_folder_is_resumed_not_recomputed(name, tmp_path, capsys):
    out = _copy(name, tmp_path)
    before = _run_files(out)
    assert main([*COMMANDS[name], "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{len(before)} tasks: {len(before)} already done, 0 run now, 0 failed" in printed
    assert _run_files(out) == before  # not one run file rewritten
    old_rows = pd.concat([pd.read_parquet(out / "runs" / f) for f in before], ignore_index=True)
    key = ["activation", "l2", "seed", "epoch", "layer", "estimator"]
    new = pd.read_parquet(out / "results.parquet").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(new, old_rows.sort_values(key).reset_index(drop=True))
    assert (out / "compression.csv").is_file() and (out / "manifest.json").is_file()


def test_an_old_reproduce_folder_is_resumed_into_a_report(tmp_path):
    out = _copy("v0_1_reproduce", tmp_path)
    before = _run_files(out)
    assert main([*COMMANDS["v0_1_reproduce"], "--out", str(out)]) == 0
    assert _run_files(out) == before
    assert (out / "report.md").is_file() and (out / "claims.json").is_file()
    assert len(SweepFolder(out).read_manifest()["task_ids"]) == len(before) == 4


def test_ibfast_run_keeps_a_configurations_seeds_in_one_task_as_before():
    """An earlier `ibfast run` wrote one run file per configuration, all its seeds in it: the same
    command now names the same single task (so a folder with more than 10 seeds resumes too);
    `ibfast sweep` cuts blocks of 10 unless told otherwise."""
    from ibfast.cli import build_parser, grid_from_args
    from ibfast.experiment import ExperimentConfig

    flags = ["--activation", "tanh", "relu", "--seeds", "12", "--epochs", "6"]
    run = grid_from_args(build_parser().parse_args(["run", *flags]), whole_tasks=True).tasks()
    assert [t.config.seeds for t in run] == [tuple(range(12))] * 2
    old = Task(ExperimentConfig(activation="tanh", seeds=tuple(range(12)), epochs=6))  # what 0.1.0 named it
    assert run[0].task_id == old.task_id
    sweep = grid_from_args(build_parser().parse_args(["sweep", *flags])).tasks()
    assert [len(t.config.seeds) for t in sweep] == [10, 2, 10, 2]
