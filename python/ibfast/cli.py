"""Command line: argument parsing and printing only; the work is in the runner (ibfast.sweep),
ibfast.outputs and ibfast.reproduce."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

from ._backend import build_info


def _cmd_info(args: argparse.Namespace) -> int:
    print(json.dumps(build_info(), indent=2))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import demo_table, format_table

    print(format_table(demo_table(args.seed)))
    return 0


def grid_from_args(args: argparse.Namespace, base: Any = None, whole_tasks: bool = False) -> Any:
    """The grid of ``ibfast run``, ``sweep`` and ``reproduce``: ``base`` (reproduce's preset;
    else empty: ExperimentConfig's defaults), then the TOML file (``Grid.from_dict``'s layout)
    over it, then the flags: ``--activation`` and ``--l2`` lists and ``--grid KEY=JSON_LIST`` are
    axes; ``--set KEY=JSON`` and the named flags are fixed keys (a fixed key ends an axis of the
    same name)."""
    from .sweep import Grid

    fixed: dict[str, Any] = dict(base.fixed) if base is not None else {}
    axes: dict[str, Any] = dict(base.axes) if base is not None else {}
    seeds: Any = base.seeds if base is not None else 1
    per_task: int = base.seeds_per_task if base is not None else 10
    per_task_default = base is None  # no preset and (below) no file set it
    plugins: list[str] = list(base.plugins) if base is not None else []
    if args.config:
        with open(args.config, "rb") as fh:
            raw = tomllib.load(fh)
        file = Grid.from_dict(raw)
        for key in file.fixed:
            axes.pop(key, None)
        for key in file.axes:
            fixed.pop(key, None)
        fixed.update(file.fixed)
        axes.update(file.axes)
        given = {**raw.get("sweep", {}), **raw}  # the runner keys the file sets (else the base's)
        seeds = file.seeds if "seeds" in given else seeds
        if "seeds_per_task" in given:
            per_task, per_task_default = file.seeds_per_task, False
        plugins = [*plugins, *file.plugins]
    for name, values in (("activation", args.activation), ("l2", args.l2)):
        if values:
            axes[name] = values
            fixed.pop(name, None)
    for item in args.grid or []:
        key, values = _key_value(item, "--grid")
        axes[key] = values
        fixed.pop(key, None)
    named = {
        "data": args.data, "data_path": args.data_path, "epochs": args.epochs,
        "batch_size": args.batch_size, "lr": args.lr, "device": args.device,
        "record_points": args.record_points, "hidden": args.hidden, "estimators": args.estimators,
        "shuffle_split": args.shuffle_split, "protocol": args.protocol, "init_gain": args.init_gain,
        "batch_order": args.batch_order, "record_timing": args.record_timing,
        "adaptive_kde_power": args.adaptive_kde_power,
    }
    sets = dict(_key_value(item, "--set") for item in args.set or [])
    for key, value in [*((k, v) for k, v in named.items() if v is not None), *sets.items()]:
        fixed[key] = value
        axes.pop(key, None)
    seeds = args.seeds or seeds
    if whole_tasks and not args.seeds_per_task and per_task_default:
        # ibfast run: every configuration's seeds are one task, as before the runner was one (a
        # folder of an earlier `ibfast run` with more than 10 seeds resumes under the same ids)
        per_task = max(1, len(seeds) if not isinstance(seeds, int) else seeds)
    return Grid(fixed=fixed, axes=axes, seeds=seeds,
                seeds_per_task=args.seeds_per_task or per_task,
                plugins=tuple(dict.fromkeys([*plugins, *(args.plugin or [])])))


def _key_value(item: str, flag: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ValueError(f"{flag} takes KEY=VALUE, got {item!r}")
    try:
        return key, json.loads(text)
    except json.JSONDecodeError:
        return key, text  # a bare word: a string value


def _where(args: argparse.Namespace) -> tuple[int, str | None, str]:
    scheduler = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    workers = 0 if scheduler else args.workers
    where = f"Dask at {scheduler}" if scheduler else (f"{workers} local workers" if workers else "in-process")
    return workers, scheduler, where


def _cmd_run(args: argparse.Namespace) -> int:
    """``ibfast run`` and ``ibfast sweep``: the grid into the folder, then its summary."""
    from .sweep import run_sweep

    prog = f"ibfast {args.command}"
    try:
        grid = grid_from_args(args, whole_tasks=args.command == "run")
        grid.tasks()  # every configuration checked (and plugins imported) before anything runs
    except (ValueError, TypeError, OSError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    workers, scheduler, where = _where(args)
    t0 = time.perf_counter()
    try:
        result = run_sweep(grid, args.out, workers=workers, scheduler=scheduler, extend=args.extend,
                           progress=not args.no_progress, plots=not args.no_plots,
                           pack_seeds=args.pack_seeds, checkpoint_s=60.0 * args.checkpoint_minutes)
    except (ValueError, OSError, ImportError) as err:  # a data file, another grid or run in the folder
        print(f"{prog}: {err}", file=sys.stderr)
        return 2
    if result.outputs is not None:
        _print_table(result.outputs.summary, result.out / "summary.csv")
    print(f"{result.n_tasks} tasks: {len(result.skipped)} already done, {len(result.finished)} run now, "
          f"{len(result.failed)} failed ({where}, {time.perf_counter() - t0:.1f} s) -> {result.out}/")
    if result.outputs is not None:
        tables = result.outputs.files()[:3]
        n_files = sum(len(paths) for paths in result.outputs.figures.values())
        figures = f" and figures/ ({n_files} files)" if n_files else ""
        print("  " + ", ".join(p.name for p in tables) + figures)
    if result.table is not None:
        _warn_saturated(result.table)
    if result.failed:
        print(f"failed tasks are in {result.out / 'failed'}/; the same command again retries them",
              file=sys.stderr)
    return min(len(result.failed), 100)


def _warn_saturated(table: Any) -> None:
    """One line on stderr per estimator and layer saturated in most recorded epochs of a run."""
    from .results import saturation_warnings

    for line in saturation_warnings(table):
        print(line, file=sys.stderr)


def _print_table(table: Any, full: Path) -> None:
    """The columns that vary (the rest are one setting, said once), rounded; the full table is
    in ``full``."""
    import pandas as pd

    same = [c for c in table.columns if table[c].nunique(dropna=False) == 1 and len(table) > 1]
    shown = table.drop(columns=same)
    with pd.option_context("display.width", 120, "display.max_rows", 60, "display.precision", 3):
        print(shown.to_string(index=False, max_rows=60))
    if same:
        print("same in every row: " + ", ".join(f"{c}={table[c].iloc[0]}" for c in same))
    print(f"full table: {full}\n")


def _cmd_summary(args: argparse.Namespace) -> int:
    from .sweep import SweepFolder

    try:
        written = SweepFolder(args.out).rebuild(figures=False)
    except FileNotFoundError as err:
        print(f"ibfast summary: {err}", file=sys.stderr)
        return 2
    _print_table(written.summary, written.out / "summary.csv")
    print(f"{len(written.table)} rows -> " + ", ".join(str(p) for p in written.files()))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from .sweep import SweepFolder

    try:
        written = SweepFolder(args.out).rebuild(figures=True, estimators=args.estimator)
    except (FileNotFoundError, ValueError) as err:
        print(f"ibfast plot: {err}", file=sys.stderr)
        return 2
    for paths in written.figures.values():
        for f in paths:
            print(f)
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import GridSpec, reproduce

    try:
        preset = GridSpec.quick() if args.quick else GridSpec.full()
        grid = grid_from_args(args, preset.grid())
        grid.tasks()  # every configuration checked before anything runs
    except (ValueError, TypeError, OSError) as err:
        print(f"ibfast reproduce: {err}", file=sys.stderr)
        return 2
    workers, scheduler, _ = _where(args)
    try:
        claims = reproduce(grid, args.out, progress=not args.no_progress, workers=workers,
                           scheduler=scheduler, pack_seeds=args.pack_seeds,
                           checkpoint_s=60.0 * args.checkpoint_minutes, extend=args.extend)
    except (ValueError, OSError, ImportError) as err:  # a data file, another run in the folder
        print(f"ibfast reproduce: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:  # tasks failed: their tracebacks are in OUT/failed/
        print(f"ibfast reproduce: {err}", file=sys.stderr)
        return 1
    try:
        from .results import read_results

        _warn_saturated(read_results(args.out))
    except FileNotFoundError:  # no finished task wrote a table
        pass
    for estimator, per_claim in claims["estimators"].items():
        for number, c in sorted(per_claim.items()):
            print(f"claim {number} [{estimator}]: {c['verdict']} - {c['claim']}")
    print(f"report: {Path(args.out) / 'report.md'} (and report.html, claims.json, compression.csv, figures/)")
    return 0


def _grid_options() -> argparse.ArgumentParser:
    """The flags of every command that runs a grid (run, sweep, reproduce): one set, one meaning."""
    from .estimators import estimator_names
    from .experiment.batches import BATCH_ORDERS
    from .experiment.config import DATA_NAMES, PROTOCOLS, RECORD_TIMINGS
    from .models.activations import INIT_GAIN_RULES

    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("the grid (a TOML file, then these flags over it)")
    g.add_argument("--config", help="TOML: configuration keys; lists of activation or l2 and keys under "
                   "[grid] are axes; seeds, seeds_per_task, plugins")
    g.add_argument("--activation", nargs="+", help="an axis: one point per activation")
    g.add_argument("--l2", nargs="+", type=float, help="an axis: one point per L2 strength (papers: 0.015)")
    g.add_argument("--grid", action="append", metavar="KEY=JSON_LIST",
                   help="any axis, e.g. hidden=[[10,7],[6]]")
    g.add_argument("--set", action="append", metavar="KEY=JSON", help="any fixed config key, e.g. lr=1e-3")
    g.add_argument("--seeds", type=int, help="seeds 0..N-1 at every point, trained batched (default 1; "
                   "reproduce: 50, quick 5)")
    g.add_argument("--seeds-per-task", type=int, help="seeds per task, the unit that resumes (default 10)")
    g.add_argument("--plugin", action="append", metavar="MODULE",
                   help="import MODULE first (it may call ibfast.register_estimator)")
    c = p.add_argument_group("configuration keys (defaults: ExperimentConfig's, or reproduce's preset)")
    c.add_argument("--epochs", type=int, help=_default("epochs"))
    c.add_argument("--estimators", nargs="+", metavar="NAME",
                   help=f"registered names: {', '.join(estimator_names())} (and any a plugin registers) "
                   + _default("estimators"))
    c.add_argument("--data", choices=DATA_NAMES, help=_default("data"))
    c.add_argument("--data-path", help="var_u.mat for twelve_bit, the idx folder for mnist")
    c.add_argument("--hidden", nargs="+", type=int, help="hidden widths " + _default("hidden"))
    c.add_argument("--batch-size", type=int, help=_default("batch_size"))
    c.add_argument("--lr", type=float, help="Adam's learning rate " + _default("lr"))
    c.add_argument("--record-points", type=int,
                   help="log-spaced points (400 -> 274 epochs of 8000) " + _default("record_points"))
    c.add_argument("--protocol", choices=tuple(PROTOCOLS),
                   help="authors (default: the paper's code) or ibfast; the flags below vary one item")
    c.add_argument("--init-gain", choices=INIT_GAIN_RULES,
                   help="authors: every layer the activation's gain; ibfast: output gain 1, abs 2")
    c.add_argument("--batch-order", choices=BATCH_ORDERS,
                   help="fixed: the same contiguous batches each epoch (authors); per_seed; shared_shuffle")
    c.add_argument("--record-timing", choices=RECORD_TIMINGS,
                   help="before (authors: epoch 0 is untrained) or after the recorded epoch's updates")
    split = c.add_mutually_exclusive_group()
    split.add_argument("--ordered-split", dest="shuffle_split", action="store_false", default=None,
                       help="the first 80%% train, the rest test (authors, IDNNs)")
    split.add_argument("--shuffled-split", dest="shuffle_split", action="store_true", default=None,
                       help="a seeded shuffled 80/20 split (Saxe et al.)")
    split.add_argument("--stratified-split", dest="shuffle_split", action="store_const", const="stratified",
                       default=None, help="a seeded 80/20 split of each class (default for data other "
                       "than the 12-bit task)")
    c.add_argument("--adaptive-kde-power", type=int, choices=(1, 2),
                   help="adaptive KDE noise: 1: s2 = c max|T| (the paper's wording), 2: (c max|T|)^2")
    c.add_argument("--device", help="cpu or cuda[:index] " + _default("device"))
    r = p.add_argument_group("running (the folder resumes: run the same command again)")
    r.add_argument("--out", help="the results folder (default results/ibfast-run, results/sweep or "
                   "results/reproduce)")
    r.add_argument("--workers", type=int, default=0,
                   help="local worker processes (default 0: this process, whose training and estimation "
                        "threads share the cores)")
    r.add_argument("--scheduler", help="a Dask scheduler address (default $DASK_SCHEDULER_ADDRESS)")
    r.add_argument("--pack-seeds", type=int, default=80,
                   help="tasks differing only in activation/L2/seeds train as one model of up to N seeds "
                        "(default 80; 0: every task alone)")
    r.add_argument("--checkpoint-minutes", type=float, default=5.0,
                   help="a running pack saves its state this often, and the same command continues it "
                        "after a kill (default 5; 0: never; not on Dask)")
    r.add_argument("--extend", action="store_true", help="add this grid's tasks to a folder holding another")
    r.add_argument("--no-plots", action="store_true")
    r.add_argument("--no-progress", action="store_true")
    return p


def _default(key: str) -> str:
    """ExperimentConfig's default for a key, as help text (reproduce's preset sets some others)."""
    from dataclasses import MISSING, fields

    from .experiment.config import ExperimentConfig

    value = next(f.default for f in fields(ExperimentConfig) if f.name == key)
    shown = " ".join(map(str, value)) if isinstance(value, tuple) else value
    return "" if value is MISSING else f"(default {shown})"


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    p = argparse.ArgumentParser(prog="ibfast", description="Information-plane estimators.")
    p.add_argument("--version", action="version", version=f"ibfast {version('ibfast')}")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="what this build of ibfast contains")
    info.set_defaults(func=_cmd_info)
    demo = sub.add_parser("demo", help="every estimator on an untrained 12-bit network")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_cmd_demo)

    grid = _grid_options()
    run = sub.add_parser("run", parents=[grid], help="train a grid of networks and estimate their "
                         "information planes into a results folder")
    run.set_defaults(func=_cmd_run, out="results/ibfast-run")
    sw = sub.add_parser("sweep", parents=[grid], help="the same as run (a run folder is a sweep folder); "
                        "default folder results/sweep")
    sw.set_defaults(func=_cmd_run, out="results/sweep")
    rep = sub.add_parser("reproduce", parents=[grid],
                         help="the paper's study end to end: its grid, then the analysis and a report")
    rep.add_argument("--quick", action="store_true",
                     help="tanh, relu, swish; L2 on/off; 5 seeds; 1500 epochs; EBAB + adaptive KDE "
                          "(default: the paper's grid, 8 activations x L2 x 50 seeds x 8000 epochs)")
    rep.set_defaults(func=_cmd_reproduce, out="results/reproduce")

    summ = sub.add_parser("summary", help="rebuild a results folder's tables and print the summary")
    summ.add_argument("out", help="the folder")
    summ.set_defaults(func=_cmd_summary)
    plot = sub.add_parser("plot", help="draw a results folder's figures (into OUT/figures)")
    plot.add_argument("out", help="the folder")
    plot.add_argument("--estimator", nargs="+", help="default: every estimator in the table")
    plot.set_defaults(func=_cmd_plot)
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds like Ctrl-C: workers stopped,
    finished tasks kept."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args))
    except KeyboardInterrupt as stop:
        out = getattr(args, "out", None)
        kept = ""
        if out is not None:
            n = len(list((Path(out) / "runs").glob("*.parquet")))
            kept = (f"; {n} finished task file(s) kept in {Path(out) / 'runs'}/, "
                    "the same command resumes the rest")
        what = "terminated" if isinstance(stop, Terminated) else "interrupted"
        print(f"ibfast {args.command}: {what}{kept}", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
