"""The report folder of ``ibfast reproduce``: tables, figures, claims.json, report.md and .html.

Everything printed in the report is also in a file beside it: results.parquet (the tidy table),
compression.csv (one row per run and layer), across_seeds.csv, mean_curve_compression.csv,
claims_tests.csv (every test) and claims.json (one verdict per claim and estimator).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis import across_seeds, all_claims, headline, mean_curve_compression, per_run
from ..analysis.claims import CLAIMS
from ..results import RESULTS_FILE, write_atomic, write_text_atomic

COMPRESSION_COLUMNS = [
    "activation",
    "l2",
    "estimator",
    "layer",
    "seed",
    "peak",
    "peak_epoch",
    "final",
    "compression",
    "compression_rel",
    "noise_floor",
    "compressing",
    "delta_i_ty",
    "final_train_acc",
    "final_test_acc",
    "final_test_loss",
    "gen_gap",
    "overfit",
    "is_output",
    "estimator_params",
]


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)


def _markdown_table(df: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v).replace("|", "/")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _verdict_table(claims: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for estimator, per_claim in claims["estimators"].items():
        for number, c in per_claim.items():
            parts = "; ".join(
                f"{p['test']}: n={p['n']}, stat={_num(p['statistic'])}, p={_num(p['p_value'])} "
                f"({p['verdict']})"
                for p in c["parts"]
            )
            rows.append(
                {"claim": int(number), "estimator": estimator, "verdict": c["verdict"], "evidence": parts}
            )
    return pd.DataFrame(rows).sort_values(["claim", "estimator"]).reset_index(drop=True)


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def _figures(df: pd.DataFrame, runs: pd.DataFrame, out: Path) -> dict[str, list[Path]]:
    from .. import plots

    figs: dict[str, list[Path]] = {}
    for est in sorted(df["estimator"].unique()):
        figs[f"plane_{est}"] = plots.information_plane(df, est, out / f"infoplane_{est}.png")
        figs[f"epochs_{est}"] = plots.information_vs_epoch(df, est, out / f"information_vs_epoch_{est}.png")
        figs[f"compression_{est}"] = plots.compression_by_activation(
            runs, est, out / f"compression_{est}.png"
        )
        figs[f"accuracy_{est}"] = plots.compression_vs_accuracy(
            runs, est, out / f"compression_vs_accuracy_{est}.png"
        )
    return figs


def _pngs(paths: list[Path]) -> list[Path]:
    return [p for p in paths if p.suffix == ".png"]


def write_report(
    df: pd.DataFrame, out: Path, about: list[str], configs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Analyse ``df`` and write every file of the report folder into ``out``; returns claims.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(df, out / RESULTS_FILE, configs)
    runs = per_run(df)
    runs[[c for c in COMPRESSION_COLUMNS if c in runs.columns]].to_csv(out / "compression.csv", index=False)
    spread = across_seeds(runs)
    spread.to_csv(out / "across_seeds.csv", index=False)
    mean_curve_compression(df).to_csv(out / "mean_curve_compression.csv", index=False)
    tests = all_claims(runs)
    tests.to_csv(out / "claims_tests.csv", index=False)
    claims = headline(tests, runs)
    write_text_atomic(out / "claims.json", json.dumps(claims, indent=2))
    figs = _figures(df, runs, out / "figures")

    estimators = sorted(df["estimator"].unique())
    sections = [
        Section("What ran", about),
        Section(
            "The claims at a glance",
            [
                f"alpha = {claims['alpha']}, {claims['n_runs']} runs (configuration x seed). A verdict is "
                "'holds' when the test rejects in the claimed direction (Holm-corrected), 'does not "
                "hold' when a test that could reject did not, 'inconclusive' when too few runs let no "
                "test reach alpha. Every test is in claims_tests.csv."
            ],
            [("verdicts", _verdict_table(claims))],
        ),
    ]
    keep = [
        "activation",
        "l2",
        "estimator",
        "layer",
        "n",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "fraction_compressing",
    ]
    sections.append(
        Section(
            f"Claim 1: {CLAIMS[1]}",
            [
                "Compression C = peak - final I(X;T) per run (bits); a run compresses when C clears its "
                "noise floor (the spread of I(X;T) over the last recorded epochs). Mean over seeds with a "
                "bootstrap 95% interval:"
            ],
            [("compression across seeds", spread[[c for c in keep if c in spread.columns]])],
            [p for e in estimators for p in _pngs(figs[f"plane_{e}"] + figs[f"compression_{e}"])],
        )
    )
    c2 = tests[tests["claim"] == 2]
    sections.append(
        Section(
            f"Claim 2: {CLAIMS[2]}",
            ["Spread of C across seeds against the within-run noise (variance ratio F):"],
            [
                (
                    "seed spread",
                    c2[
                        [
                            c
                            for c in (
                                "activation",
                                "l2",
                                "estimator",
                                "layer",
                                "n",
                                "sd",
                                "iqr",
                                "fraction_compressing",
                                "statistic",
                                "p_adjusted",
                                "verdict",
                            )
                            if c in c2.columns
                        ]
                    ],
                )
            ],
            [p for e in estimators for p in _pngs(figs[f"epochs_{e}"])],
        )
    )
    c3 = tests[tests["claim"] == 3]
    sections.append(
        Section(
            f"Claim 3: {CLAIMS[3]}",
            [
                "Paired by seed (same initialisation with and without L2): one-sided Wilcoxon signed-rank "
                "tests; effect size = matched-pairs rank-biserial correlation. overfit = final test loss "
                "minus its minimum; gen_gap = train minus test accuracy."
                if len(c3)
                else "No runs with and without L2 on the same seeds: not tested."
            ],
            [
                (
                    "paired tests",
                    c3[
                        [
                            c
                            for c in (
                                "part",
                                "activation",
                                "l2",
                                "estimator",
                                "layer",
                                "n",
                                "statistic",
                                "effect_size",
                                "mean_difference",
                                "p_adjusted",
                                "verdict",
                            )
                            if c in c3.columns
                        ]
                    ],
                )
            ]
            if len(c3)
            else [],
        )
    )
    c4 = tests[(tests["claim"] == 4) & (tests["pool"] == "pooled") & (tests["measure"] == "final_test_acc")]
    sections.append(
        Section(
            f"Claim 4: {CLAIMS[4]}",
            [
                "Correlation across runs between C and final test accuracy, per layer (the last is the "
                "softmax output), pooled over activations and L2; the test loss, the generalisation gap "
                "and the within-activation correlations are in claims_tests.csv."
            ],
            [
                (
                    "correlations",
                    c4[
                        [
                            c
                            for c in ("estimator", "layer", "test", "n", "statistic", "p_adjusted", "verdict")
                            if c in c4.columns
                        ]
                    ],
                )
            ],
            [p for e in estimators for p in _pngs(figs[f"accuracy_{e}"])],
        )
    )
    undecided = [
        f"claim {n} ({e})"
        for e, cl in claims["estimators"].items()
        for n, c in cl.items()
        if c["verdict"] == "inconclusive"
    ]
    if undecided:
        sections.append(
            Section(
                "Where this run is too small to decide",
                [
                    "Inconclusive: " + ", ".join(undecided) + ". More seeds (the paper's scale is 50 per "
                    "configuration) give the tests the power to decide."
                ],
            )
        )
    write_text_atomic(out / "report.md", _markdown(sections, out))
    write_text_atomic(out / "report.html", _html(sections, out))
    return claims


def _markdown(sections: list[Section], out: Path) -> str:
    lines = ["# ibfast reproduce: Chelombiev, Houghton & O'Donnell (ICLR 2019)", ""]
    for s in sections:
        lines += [f"## {s.title}", "", *[t + "\n" for t in s.text]]
        for name, table in s.tables:
            lines += [f"*{name}*", "", _markdown_table(table), ""]
        lines += [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in s.figures]
        lines.append("")
    return "\n".join(lines)


def _html(sections: list[Section], out: Path) -> str:
    body = ["<h1>ibfast reproduce: Chelombiev, Houghton &amp; O'Donnell (ICLR 2019)</h1>"]
    for s in sections:
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        body += [f"<p>{html.escape(t)}</p>" for t in s.text]
        for name, table in s.tables:
            body.append(f"<h3>{html.escape(name)}</h3>")
            body.append(table.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0))
        body += [
            f'<img src="{html.escape(p.relative_to(out).as_posix())}" alt="{html.escape(p.stem)}">'
            for p in s.figures
        ]
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;"
        "font-size:12px}td,th{padding:2px 6px;border-bottom:1px solid #ddd}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>ibfast reproduce</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )
