"""Command line: argument parsing and printing only; the work is in experiment and results."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
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


def configs_from_args(args: argparse.Namespace) -> list[Any]:
    """One ExperimentConfig per (activation, l2) pair: the TOML file, then flags over it.

    The file's ``plugins`` list and ``--plugin`` flags are imported first, so that the names they
    register are known when the configuration is checked.
    """
    import tomllib

    from .experiment.config import configs_from_dict
    from .plugins import load_plugins

    base: dict[str, Any] = {}
    if args.config:
        with open(args.config, "rb") as fh:
            base = tomllib.load(fh)
    load_plugins(args.plugin or [])  # the file's own plugins are imported by configs_from_dict
    flags = {
        "data": args.data, "data_path": args.data_path, "epochs": args.epochs,
        "batch_size": args.batch_size, "lr": args.lr, "device": args.device,
        "record_points": args.record_points,
        "hidden": tuple(args.hidden) if args.hidden else None,
        "estimators": tuple(args.estimators) if args.estimators else None,
        "seeds": tuple(range(args.seeds)) if args.seeds else None,
        "shuffle_split": args.shuffle_split, "protocol": args.protocol, "init_gain": args.init_gain,
        "batch_order": args.batch_order, "record_timing": args.record_timing,
        "adaptive_kde_power": args.adaptive_kde_power,
    }
    base.update({k: v for k, v in flags.items() if v is not None})
    # activation and l2 may be lists (one run per pair); flags replace the file's lists
    return configs_from_dict(base, args.activation, args.l2)


def _progress_factory(enabled: bool) -> Callable[[Any], Callable[[int, int], None] | None]:
    def make(config: Any) -> Callable[[int, int], None] | None:
        if not enabled:
            return None
        label = f"{config.activation}" + (f" L2={config.l2:g}" if config.l2 else "")
        try:
            from tqdm import tqdm
        except ImportError:  # plain fallback: a line every 10%
            step = max(1, config.epochs // 10)
            return lambda done, total: (
                print(f"{label}: epoch {done}/{total}", file=sys.stderr)
                if done % step == 0 or done == total else None
            )
        bar = tqdm(total=config.epochs, desc=label, unit="ep", file=sys.stderr, leave=True)

        def update(done: int, total: int) -> None:
            bar.update(done - bar.n)
            if done == total:
                bar.close()

        return update

    return make


def _cmd_run(args: argparse.Namespace) -> int:
    import pandas as pd

    from .experiment import Experiment, run_all
    from .results import summary

    try:
        configs = configs_from_args(args)
        experiments = [Experiment(c) for c in configs]  # data loaded and checked before any training
    except (ValueError, TypeError, OSError, ImportError) as err:
        print(f"ibfast run: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    t0 = time.perf_counter()
    df = run_all(experiments, out, _progress_factory(not args.no_progress), plots=not args.no_plots)
    elapsed = time.perf_counter() - t0
    table = summary(df)
    with pd.option_context("display.width", 160, "display.max_rows", 200, "display.precision", 3):
        print(table.to_string(index=False))
    print(f"\n{len(df)} rows, {len(configs)} configuration(s), {elapsed:.1f} s -> {out}/")
    for f in sorted(out.glob("*")):
        print(f"  {f}")
    return 0


def grid_from_args(args: argparse.Namespace) -> Any:
    """The sweep's grid: the TOML file ([grid] axes, [sweep] seeds / seeds_per_task / plugins,
    every other key fixed), then flags over it (--activation and --l2 lists and --grid KEY=JSON
    lists are axes; --set KEY=JSON and the named flags are fixed keys)."""
    import tomllib

    from .sweep import Grid

    fixed: dict[str, Any] = {}
    if args.config:
        with open(args.config, "rb") as fh:
            fixed = tomllib.load(fh)
    axes = dict(fixed.pop("grid", {}))
    sweep = dict(fixed.pop("sweep", {}))
    unknown = set(sweep) - {"seeds", "seeds_per_task", "plugins"}
    if unknown:
        raise ValueError(f"unknown [sweep] keys {sorted(unknown)}: seeds, seeds_per_task, plugins")
    for name, values in (("activation", args.activation), ("l2", args.l2)):
        if values:
            axes[name] = values
    for item in args.grid or []:
        key, values = _key_value(item, "--grid")
        axes[key] = values
    for item in args.set or []:
        key, value = _key_value(item, "--set")
        fixed[key] = value
    named = {"epochs": args.epochs, "data": args.data, "data_path": args.data_path,
             "hidden": args.hidden, "estimators": args.estimators, "protocol": args.protocol,
             "record_points": args.record_points, "device": args.device}
    fixed.update({k: v for k, v in named.items() if v is not None})
    for key in list(axes):  # a key given as a fixed flag is no longer an axis
        if key in named and named[key] is not None:
            axes.pop(key)
    return Grid(fixed=fixed, axes=axes, seeds=args.seeds or sweep.get("seeds", 1),
                seeds_per_task=args.seeds_per_task or sweep.get("seeds_per_task", 10),
                plugins=tuple([*sweep.get("plugins", []), *(args.plugin or [])]))


def _key_value(item: str, flag: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ValueError(f"{flag} takes KEY=VALUE, got {item!r}")
    try:
        return key, json.loads(text)
    except json.JSONDecodeError:
        return key, text  # a bare word: a string value


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import run_sweep

    scheduler = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    try:
        grid = grid_from_args(args)
        grid.tasks()  # every configuration checked before anything runs
    except (ValueError, TypeError, OSError) as err:
        print(f"ibfast sweep: {err}", file=sys.stderr)
        return 2
    workers = 0 if scheduler else (args.workers if args.workers is not None else (os.cpu_count() or 1))
    t0 = time.perf_counter()
    try:
        result = run_sweep(grid, args.out, workers=workers, scheduler=scheduler, extend=args.extend,
                           progress=not args.no_progress, plots=not args.no_plots, pack_seeds=args.pack_seeds)
    except (ValueError, OSError, ImportError) as err:  # a data file, another grid or sweep in the folder
        print(f"ibfast sweep: {err}", file=sys.stderr)
        return 2
    where = f"Dask at {scheduler}" if scheduler else (f"{workers} local workers" if workers else "in-process")
    print(f"{result.n_tasks} tasks: {len(result.skipped)} already done, {len(result.finished)} run now, "
          f"{len(result.failed)} failed ({where}, {time.perf_counter() - t0:.1f} s) -> {result.out}/")
    if result.failed:
        print(f"failed tasks are in {result.out / 'failed'}/; starting the sweep again retries them",
              file=sys.stderr)
    return min(len(result.failed), 100)


def _cmd_summary(args: argparse.Namespace) -> int:
    import pandas as pd

    from .analysis import per_run
    from .results import summary
    from .sweep import SweepFolder, rebuild_outputs

    folder = SweepFolder(args.out)
    try:
        df = rebuild_outputs(folder, plots=False) if folder.read_manifest() else folder.combined()
    except FileNotFoundError as err:
        print(f"ibfast summary: {err}", file=sys.stderr)
        return 2
    table = summary(df)
    table.to_csv(folder.out / "summary.csv", index=False)
    per_run(df).to_csv(folder.out / "compression.csv", index=False)
    with pd.option_context("display.width", 160, "display.max_rows", 500, "display.precision", 3):
        print(table.to_string(index=False))
    print(f"\n{len(df)} rows -> {folder.out / 'summary.csv'}, {folder.out / 'compression.csv'}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from . import plots
    from .analysis import per_run
    from .sweep import SweepFolder

    try:
        df = SweepFolder(args.out).combined()
    except FileNotFoundError as err:
        print(f"ibfast plot: {err}", file=sys.stderr)
        return 2
    runs = per_run(df)
    figures = Path(args.out) / "figures"
    written = []
    for est in args.estimator or sorted(df["estimator"].unique()):
        try:
            written += plots.information_plane(df, est, figures / f"infoplane_{est}.png")
            written += plots.information_vs_epoch(df, est, figures / f"information_vs_epoch_{est}.png")
            written += plots.compression_by_activation(runs, est, figures / f"compression_{est}.png")
            written += plots.compression_vs_accuracy(runs, est,
                                                     figures / f"compression_vs_accuracy_{est}.png")
        except ValueError as err:
            print(f"ibfast plot: {err}", file=sys.stderr)
            return 2
    for f in written:
        print(f)
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .reproduce import GridSpec, reproduce

    overrides = {
        "seeds": args.seeds, "epochs": args.epochs, "record_points": args.record_points,
        "activations": tuple(args.activation) if args.activation else None,
        "l2": tuple(args.l2) if args.l2 else None,
        "estimators": tuple(args.estimators) if args.estimators else None,
        "data_path": args.data_path, "device": args.device, "seeds_per_task": args.seeds_per_task,
    }
    scheduler = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    try:
        preset = GridSpec.quick if args.quick else GridSpec.full
        spec = preset(**{k: v for k, v in overrides.items() if v is not None})
        spec.configs()  # every configuration checked before anything runs
    except (ValueError, TypeError) as err:
        print(f"ibfast reproduce: {err}", file=sys.stderr)
        return 2
    try:
        claims = reproduce(spec, args.out, progress=not args.no_progress, workers=args.workers,
                           scheduler=scheduler)
    except (ValueError, OSError, ImportError) as err:  # a data file, another sweep in the folder
        print(f"ibfast reproduce: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:  # tasks failed: their tracebacks are in OUT/failed/
        print(f"ibfast reproduce: {err}", file=sys.stderr)
        return 1
    for estimator, per_claim in claims["estimators"].items():
        for number, c in sorted(per_claim.items()):
            print(f"claim {number} [{estimator}]: {c['verdict']} - {c['claim']}")
    print(f"report: {Path(args.out) / 'report.md'} (and report.html, claims.json, compression.csv, figures/)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .estimators import estimator_names
    from .experiment.batches import BATCH_ORDERS
    from .experiment.config import DATA_NAMES, PROTOCOLS, RECORD_TIMINGS
    from .models.activations import INIT_GAIN_RULES

    p = argparse.ArgumentParser(prog="ibfast", description="Information-plane estimators.")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="what this build of ibfast contains")
    info.set_defaults(func=_cmd_info)
    demo = sub.add_parser("demo", help="every estimator on an untrained 12-bit network")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser("run", help="train networks and estimate their information plane")
    run.add_argument("--config", help="TOML file of ExperimentConfig keys (flags override it)")
    run.add_argument("--activation", nargs="+", help="one run per activation (default tanh)")
    run.add_argument("--l2", nargs="+", type=float, help="one run per L2 strength (0.015 in the papers)")
    run.add_argument("--seeds", type=int, help="number of seeds, trained batched (seeds 0..N-1)")
    run.add_argument("--epochs", type=int)
    known = ", ".join(estimator_names())
    run.add_argument("--estimators", nargs="+", metavar="NAME",
                     help=f"registered estimator names: {known} (and any a plugin registers)")
    run.add_argument("--plugin", action="append", metavar="MODULE",
                     help="import MODULE first (it may call ibfast.register_estimator)")
    run.add_argument("--data", choices=DATA_NAMES)
    run.add_argument("--data-path", help="var_u.mat for twelve_bit, the idx folder for mnist")
    run.add_argument("--hidden", nargs="+", type=int, help="hidden widths (default 10 7 5 4 3)")
    run.add_argument("--batch-size", type=int)
    run.add_argument("--lr", type=float)
    run.add_argument("--record-points", type=int, help="log-spaced points (400 -> 274 epochs of 8000)")
    run.add_argument("--protocol", choices=tuple(PROTOCOLS),
                     help="authors (default: the paper's code) or ibfast; the flags below vary one item")
    run.add_argument("--init-gain", choices=INIT_GAIN_RULES,
                     help="authors: every layer the activation's gain; ibfast: output gain 1, abs 2")
    run.add_argument("--batch-order", choices=BATCH_ORDERS,
                     help="fixed: the same contiguous batches each epoch (authors); per_seed; shared_shuffle")
    run.add_argument("--record-timing", choices=RECORD_TIMINGS,
                     help="before (authors: epoch 0 is untrained) or after the recorded epoch's updates")
    split = run.add_mutually_exclusive_group()
    split.add_argument("--ordered-split", dest="shuffle_split", action="store_false", default=None,
                       help="the first 80%% train, the rest test (authors, IDNNs)")
    split.add_argument("--shuffled-split", dest="shuffle_split", action="store_true", default=None,
                       help="a seeded shuffled 80/20 split (Saxe et al.)")
    run.add_argument("--adaptive-kde-power", type=int, choices=(1, 2),
                     help="adaptive KDE noise: 1: s2 = c max|T| (the paper's wording), 2: (c max|T|)^2")
    run.add_argument("--device", help="cpu or cuda")
    run.add_argument("--out", default="results/ibfast-run", help="results folder")
    run.add_argument("--no-plots", action="store_true")
    run.add_argument("--no-progress", action="store_true")
    run.set_defaults(func=_cmd_run)

    rep = sub.add_parser("reproduce", help="the paper's study end to end: grid, analysis, report")
    rep.add_argument("--quick", action="store_true",
                     help="tanh, relu, swish; L2 on/off; 5 seeds; 1500 epochs; EBAB + adaptive KDE")
    rep.add_argument("--seeds", type=int, help="seeds per configuration (default 50, quick 5)")
    rep.add_argument("--epochs", type=int, help="default 8000 (quick 1500)")
    rep.add_argument("--activation", nargs="+", help="default: the paper's eight")
    rep.add_argument("--l2", nargs="+", type=float, help="default 0 0.015")
    rep.add_argument("--estimators", nargs="+", metavar="NAME",
                     help="default ebab adaptive_kde_upper fixed_range kde_upper (quick: the first two)")
    rep.add_argument("--record-points", type=int, help="log-spaced points (400 -> 274 epochs of 8000)")
    rep.add_argument("--data-path", help="var_u.mat (else the built-in 12-bit generator)")
    rep.add_argument("--device", help="cpu or cuda")
    rep.add_argument("--seeds-per-task", type=int, help="seeds trained batched in one task (default 10)")
    rep.add_argument("--workers", type=int, default=0, help="local worker processes (default 0: this one)")
    rep.add_argument("--scheduler", help="a Dask scheduler address (default $DASK_SCHEDULER_ADDRESS)")
    rep.add_argument("--out", default="results/reproduce", help="report folder (run again to resume)")
    rep.add_argument("--no-progress", action="store_true")
    rep.set_defaults(func=_cmd_reproduce)

    sw = sub.add_parser("sweep", help="a grid of runs as resumable tasks, on local workers or Dask")
    sw.add_argument("--config",
                    help="TOML: fixed keys, [grid] axes (lists), [sweep] seeds, seeds_per_task, plugins")
    sw.add_argument("--activation", nargs="+", help="an axis: one point per activation")
    sw.add_argument("--l2", nargs="+", type=float, help="an axis: one point per L2 strength")
    sw.add_argument("--grid", action="append", metavar="KEY=JSON_LIST",
                    help="any axis, e.g. hidden=[[10,7],[6]]")
    sw.add_argument("--set", action="append", metavar="KEY=JSON", help="any fixed config key, e.g. lr=1e-3")
    sw.add_argument("--seeds", type=int, help="seeds 0..N-1 at every grid point (default 1)")
    sw.add_argument("--seeds-per-task", type=int, help="seeds trained batched in one task (default 10)")
    sw.add_argument("--epochs", type=int)
    sw.add_argument("--estimators", nargs="+", metavar="NAME")
    sw.add_argument("--data", choices=DATA_NAMES)
    sw.add_argument("--data-path")
    sw.add_argument("--hidden", nargs="+", type=int)
    sw.add_argument("--protocol", choices=tuple(PROTOCOLS))
    sw.add_argument("--record-points", type=int)
    sw.add_argument("--device")
    sw.add_argument("--plugin", action="append", metavar="MODULE")
    sw.add_argument("--workers", type=int,
                    help="local worker processes (default: the number of cores; 0: in-process)")
    sw.add_argument("--scheduler", help="a Dask scheduler address (default $DASK_SCHEDULER_ADDRESS)")
    sw.add_argument("--pack-seeds", type=int, default=80,
                    help="tasks differing only in activation/L2/seeds train as one model of up to N seeds "
                         "(default 80; 0: every task alone)")
    sw.add_argument("--extend", action="store_true", help="add this grid's tasks to a folder holding another")
    sw.add_argument("--out", default="results/sweep", help="the sweep's folder")
    sw.add_argument("--no-plots", action="store_true")
    sw.add_argument("--no-progress", action="store_true")
    sw.set_defaults(func=_cmd_sweep)

    summ = sub.add_parser("summary", help="tables from a results or sweep folder")
    summ.add_argument("out", help="the folder")
    summ.set_defaults(func=_cmd_summary)
    plot = sub.add_parser("plot", help="figures from a results or sweep folder (into OUT/figures)")
    plot.add_argument("out", help="the folder")
    plot.add_argument("--estimator", nargs="+", help="default: every estimator in the table")
    plot.set_defaults(func=_cmd_plot)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
