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
from ..results import saturation_warnings, write_text_atomic

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
WORDS = (
    "Each claim has one pre-declared primary test (docs/analysis.md). 'supported': it rejects in the "
    "claimed direction at alpha; 'not shown': it does not (p and the smallest effect it could have "
    "detected are given; this is not evidence that the claim is false); 'contradicted': significant "
    "in the opposite direction; 'undecided': too few runs for the test to reach alpha at all; "
    "'unmeasurable': the estimates are saturated (at their ceiling). Baseline estimators (not "
    "adaptive) are labelled: their verdicts are the comparison, not the paper's claim."
)
CELL_COLUMNS = ["part", "role", "estimator_label", "activation", "l2", "layer", "n", "effect", "ci_low",
                "ci_high", "p_value", "p_adjusted", "verdict", "cells", "note"]


def _what_ran(d: ReportData) -> Section:
    info = d.claims.get("estimator_info", {})
    estimators = [f"{label}: {json.dumps(i['params'])}" + (" (baseline)" if i["baseline"] else "")
                  for label, i in info.items()]
    return Section("What ran", [*d.about, "Data source: " + ", ".join(d.claims.get("data_source", [])) + ".",
                                "Estimators and their parameters: " + "; ".join(estimators) + "."])


def _keys(d: ReportData) -> Section:
    keys = d.claims.get("keys", {})
    return Section("Pre-declared keys", ["Fixed before the data were seen; claims.json holds them too."],
                   [("keys", pd.DataFrame({"key": list(keys), "value": [str(v) for v in keys.values()]}))])


def _at_a_glance(d: ReportData) -> Section:
    text = [f"alpha = {d.claims['alpha']}, {d.claims['n_runs']} runs (configuration x seed). " + WORDS]
    agreement = d.claims.get("claim3_agreement", {})
    if agreement:
        text.append("Claim 3 across the adaptive estimators: " + (
            "they agree" if agreement["agree"] else "they disagree") + " ("
            + ", ".join(f"{k}: {v}" for k, v in agreement["verdicts"].items()) + ")"
            + ("; " + "; ".join(agreement["notes"]) if agreement["notes"] else "") + ".")
    return Section("The claims at a glance", text, [("verdicts", _verdict_table(d.claims))])


def _saturation(d: ReportData) -> Section | None:
    info = d.claims.get("estimator_info", {})
    lines = [f"{label}: {i['saturated_runs']} saturated runs x layers ({'; '.join(i['saturated_cells'])})"
             for label, i in info.items() if i["saturated_runs"]]
    # per recorded epoch (the results' saturated column), what ibfast run and reproduce also print
    lines += saturation_warnings(d.folder.table)
    if not lines:
        return None
    return Section("Saturated estimates (unmeasurable, left out of every test)",
                   ["A run's layer is saturated when its late I(X;T) is within the saturation margin of the "
                    "ceiling log2 N: the estimator cannot see compression there.", *lines])


def _claim_section(d: ReportData, n: int, intro: str, kinds: tuple[str, ...]) -> Section:
    t = d.tests[d.tests["claim"] == n] if len(d.tests) else d.tests
    primary = [f"[{label}] {c[str(n)]['verdict']}: {c[str(n)]['sentence']}"
               for label, c in d.claims["estimators"].items()]
    tables = [(f"tests ({role})", _columns(t[t["role"] == role], CELL_COLUMNS + EXTRA.get(n, [])))
              for role in ("primary", "secondary", "cell", "output layer", "saturating")
              if len(t) and (t["role"] == role).any()]
    return Section(f"Claim {n}: {CLAIMS[n]}", [intro, *primary], tables, d.pngs(*kinds))


EXTRA = {2: ["iqr", "iqr_low", "iqr_high", "cv", "share_between", "mean_compression"]}


def _claim1(d: ReportData) -> Section:
    return _claim_section(d, 1, (
        "Per run, C = the peak of I(X;T) after the first epochs (running median) minus the mean of the "
        "final window; a run compresses when C clears max(minimum effect, a multiple of the curve's "
        "noise). Primary: (a) per non-saturating activation and hidden layer without L2, a one-sided "
        "signed-rank test of C - floor over seeds, Holm over cells; (b) per hidden layer, Friedman "
        "across activations blocked by seed, Kendall's W, Holm over layers. The output layer is "
        "reported apart. Effect: mean C (bits) with a bootstrap 95% interval."), ("plane", "compression"))


def _claim2(d: ReportData) -> Section:
    return _claim_section(d, 2, (
        "Primary: the between-seed sd of C (seed variance minus the within-run measurement variance), "
        "pooled over the hidden-layer cells, with a bootstrap interval over seeds; 'large' is the "
        "pre-declared key large_sd. Per cell: sd, IQR and coefficient of variation of C with bootstrap "
        "intervals, and the share of C's variance that is between seeds."), ("epochs",))


def _claim3(d: ReportData) -> Section:
    return _claim_section(d, 3, (
        "Paired by seed (the same seed, the same initial draws with and without L2). Primary: one "
        "signed-rank test over all (activation, seed) pairs of the mean hidden-layer C difference "
        "(L2 minus none), and one of overfitting (final test loss minus its minimum); per activation "
        "with Holm; the generalisation gap secondary. Effects: mean differences with bootstrap "
        "intervals."), ())


def _claim4(d: ReportData) -> Section:
    return _claim_section(d, 4, (
        "Primary: the softmax output's compression against final test accuracy, Spearman within each "
        "activation x L2 stratum combined by Fisher z weighted by n - 3 (so differences between "
        "activations do not drive it), positive, and larger than every other layer's (bootstrap over "
        "seeds, Holm over layers). The last hidden layer, test loss and gap are secondary."),
        ("accuracy",))


def _not_decided(d: ReportData) -> Section | None:
    left = [f"claim {n} [{label}]: {c['verdict']}" for label, cl in d.claims["estimators"].items()
            for n, c in cl.items() if c["verdict"] in ("undecided", "unmeasurable")]
    if not left:
        return None
    return Section("What this run cannot decide", [
        "; ".join(left) + ". 'undecided' needs more seeds (the paper's scale is 50 per configuration); "
        "'unmeasurable' needs an estimator that is not saturated on those layers."])


SECTIONS: tuple[Callable[[ReportData], Section | None], ...] = (
    _what_ran, _at_a_glance, _saturation, _claim1, _claim2, _claim3, _claim4, _not_decided, _keys)


# ---- helpers --------------------------------------------------------------------------------------
def _columns(df: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    return df[[c for c in keep if c in df.columns]]


def _verdict_table(claims: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for estimator, per_claim in claims["estimators"].items():
        for number, c in per_claim.items():
            name = estimator + (" (baseline)" if c.get("baseline") else "")
            rows.append({"claim": int(number), "estimator": name, "verdict": c["verdict"],
                         "primary result": c.get("sentence", "")})
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
