"""The report folder of ``ibfast reproduce``: the folder's shared outputs, then the report's own.

:func:`ibfast.outputs.write_outputs` writes what every results folder has (results.parquet,
summary.csv, compression.csv, figures/); this module adds what only the report has:
across_seeds.csv, mean_curve_compression.csv, claims_tests.csv (every test), claims.json (one
verdict per claim and estimator), report.md and report.html. Every number printed in the report
is also in one of those files.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis import across_seeds, all_claims, headline, mean_curve_compression
from ..analysis.claims import CLAIMS
from ..outputs import FolderOutputs, write_outputs
from ..results import write_text_atomic

TITLE = "ibfast reproduce: Chelombiev, Houghton & O'Donnell (ICLR 2019)"


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything the sections draw from: the folder's outputs and the report's own tables."""

    folder: FolderOutputs
    spread: pd.DataFrame
    tests: pd.DataFrame
    claims: dict[str, Any]
    about: list[str]

    @property
    def estimators(self) -> list[str]:
        return sorted(str(e) for e in self.folder.table["estimator"].unique())

    def pngs(self, *kinds: str) -> list[Path]:
        """The PNG figures of ``kinds`` (plane, epochs, compression, accuracy), per estimator."""
        return [p for e in self.estimators for k in kinds
                for p in self.folder.figures.get(f"{k}_{e}", []) if p.suffix == ".png"]


def write_report(
    df: pd.DataFrame, out: Path, about: list[str], configs: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Analyse ``df`` and write the report folder ``out``; returns the contents of claims.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = write_outputs(df, out, configs)
    data = _analyse(folder, about)
    sections = [build(data) for build in SECTIONS]
    write_text_atomic(out / "report.md", _markdown([s for s in sections if s is not None], out))
    write_text_atomic(out / "report.html", _html([s for s in sections if s is not None], out))
    return data.claims


def _analyse(folder: FolderOutputs, about: list[str]) -> ReportData:
    """The report's own tables, written beside the folder's outputs."""
    out, runs = folder.out, folder.runs
    spread = across_seeds(runs)
    spread.to_csv(out / "across_seeds.csv", index=False)
    mean_curve_compression(folder.table).to_csv(out / "mean_curve_compression.csv", index=False)
    tests = all_claims(runs)
    tests.to_csv(out / "claims_tests.csv", index=False)
    claims = headline(tests, runs)
    write_text_atomic(out / "claims.json", json.dumps(claims, indent=2))
    return ReportData(folder, spread, tests, claims, about)


# ---- sections, in the report's order -------------------------------------------------------------
def _what_ran(d: ReportData) -> Section:
    return Section("What ran", d.about)


def _at_a_glance(d: ReportData) -> Section:
    return Section(
        "The claims at a glance",
        [f"alpha = {d.claims['alpha']}, {d.claims['n_runs']} runs (configuration x seed). A verdict is "
         "'holds' when the test rejects in the claimed direction (Holm-corrected), 'does not "
         "hold' when a test that could reject did not, 'inconclusive' when too few runs let no "
         "test reach alpha. Every test is in claims_tests.csv."],
        [("verdicts", _verdict_table(d.claims))],
    )


def _claim1(d: ReportData) -> Section:
    keep = ["activation", "l2", "estimator", "layer", "n", "mean", "sd", "ci_low", "ci_high",
            "fraction_compressing"]
    return Section(
        f"Claim 1: {CLAIMS[1]}",
        ["Compression C = peak - final I(X;T) per run (bits); a run compresses when C clears its "
         "noise floor (the spread of I(X;T) over the last recorded epochs). Mean over seeds with a "
         "bootstrap 95% interval:"],
        [("compression across seeds", _columns(d.spread, keep))],
        d.pngs("plane", "compression"),
    )


def _claim2(d: ReportData) -> Section:
    keep = ["activation", "l2", "estimator", "layer", "n", "sd", "iqr", "fraction_compressing",
            "statistic", "p_adjusted", "verdict"]
    return Section(
        f"Claim 2: {CLAIMS[2]}",
        ["Spread of C across seeds against the within-run noise (variance ratio F):"],
        [("seed spread", _columns(d.tests[d.tests["claim"] == 2], keep))],
        d.pngs("epochs"),
    )


def _claim3(d: ReportData) -> Section:
    c3 = d.tests[d.tests["claim"] == 3]
    if not len(c3):
        return Section(f"Claim 3: {CLAIMS[3]}",
                       ["No runs with and without L2 on the same seeds: not tested."])
    keep = ["part", "activation", "l2", "estimator", "layer", "n", "statistic", "effect_size",
            "mean_difference", "p_adjusted", "verdict"]
    return Section(
        f"Claim 3: {CLAIMS[3]}",
        ["Paired by seed (same initialisation with and without L2): one-sided Wilcoxon signed-rank "
         "tests; effect size = matched-pairs rank-biserial correlation. overfit = final test loss "
         "minus its minimum; gen_gap = train minus test accuracy."],
        [("paired tests", _columns(c3, keep))],
    )


def _claim4(d: ReportData) -> Section:
    t = d.tests
    c4 = t[(t["claim"] == 4) & (t["pool"] == "pooled") & (t["measure"] == "final_test_acc")] \
        if "pool" in t.columns else t.iloc[:0]
    return Section(
        f"Claim 4: {CLAIMS[4]}",
        ["Correlation across runs between C and final test accuracy, per layer (the last is the "
         "softmax output), pooled over activations and L2; the test loss, the generalisation gap "
         "and the within-activation correlations are in claims_tests.csv."],
        [("correlations", _columns(c4, ["estimator", "layer", "test", "n", "statistic", "p_adjusted",
                                        "verdict"]))],
        d.pngs("accuracy"),
    )


def _too_small(d: ReportData) -> Section | None:
    undecided = [f"claim {n} ({e})" for e, cl in d.claims["estimators"].items()
                 for n, c in cl.items() if c["verdict"] == "inconclusive"]
    if not undecided:
        return None
    return Section(
        "Where this run is too small to decide",
        ["Inconclusive: " + ", ".join(undecided) + ". More seeds (the paper's scale is 50 per "
         "configuration) give the tests the power to decide."],
    )


SECTIONS: tuple[Callable[[ReportData], Section | None], ...] = (
    _what_ran, _at_a_glance, _claim1, _claim2, _claim3, _claim4, _too_small)


# ---- helpers --------------------------------------------------------------------------------------
def _columns(df: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    return df[[c for c in keep if c in df.columns]]


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def _verdict_table(claims: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for estimator, per_claim in claims["estimators"].items():
        for number, c in per_claim.items():
            parts = "; ".join(f"{p['test']}: n={p['n']}, stat={_num(p['statistic'])}, "
                              f"p={_num(p['p_value'])} ({p['verdict']})" for p in c["parts"])
            rows.append({"claim": int(number), "estimator": estimator, "verdict": c["verdict"],
                         "evidence": parts})
    return pd.DataFrame(rows).sort_values(["claim", "estimator"]).reset_index(drop=True)


def _markdown_table(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v).replace("|", "/")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _markdown(sections: list[Section], out: Path) -> str:
    lines = [f"# {TITLE}", ""]
    for s in sections:
        lines += [f"## {s.title}", "", *[t + "\n" for t in s.text]]
        for name, table in s.tables:
            lines += [f"*{name}*", "", _markdown_table(table), ""]
        lines += [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in s.figures]
        lines.append("")
    return "\n".join(lines)


def _html(sections: list[Section], out: Path) -> str:
    body = [f"<h1>{html.escape(TITLE)}</h1>"]
    for s in sections:
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        body += [f"<p>{html.escape(t)}</p>" for t in s.text]
        for name, table in s.tables:
            body.append(f"<h3>{html.escape(name)}</h3>")
            body.append(table.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0))
        body += [f'<img src="{html.escape(p.relative_to(out).as_posix())}" alt="{html.escape(p.stem)}">'
                 for p in s.figures]
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
        "font-size:12px}td,th{padding:2px 6px;border-bottom:1px solid #ddd}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>ibfast reproduce</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )
