"""Command line: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import sys

from ._backend import build_info


def _cmd_info(args: argparse.Namespace) -> int:
    print(json.dumps(build_info(), indent=2))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import demo_table, format_table

    print(format_table(demo_table(args.seed)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ibfast", description="Information-plane estimators.")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="what this build of ibfast contains")
    info.set_defaults(func=_cmd_info)
    demo = sub.add_parser("demo", help="every estimator on an untrained 12-bit network")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
