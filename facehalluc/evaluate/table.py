"""Combine result files into the layout of paper Table 1 or supplementary Table 6.

    python -m facehalluc.evaluate.table results/*.json --layout table1 --out tables/

writes ``<layout>.md``, ``<layout>.csv`` and ``<layout>.png`` (bar chart, ours beside the paper's numbers).
Rows follow the paper's order; a result file lands on a paper row when its ``name`` is the paper's model name
(case, spaces and punctuation ignored) or the config preset that reproduces it (e.g. ``ablation_l2`` for
"l2 loss", ``paper`` for "Ours (Cascaded)").  Results matching no paper row are appended.  Every cell shows our
value, and the paper's number beside it, so no number of ours is ever presented as the paper's.
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from facehalluc.evaluate.paper_numbers import (HIGHER_IS_BETTER, LAYOUTS, METRIC_KEYS, METRIC_TITLES,
                                               TABLE6_PRESETS, PaperRow)
from facehalluc.evaluate.results import EvaluationResult, MetricResult, load_result

#: preset names accepted for the two "Ours" rows in both layouts
_OURS_PRESETS = {"Ours (Cascaded)": "paper", "Ours (ProGAN)": "progan"}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass
class TableRow:
    """One model: the paper's numbers (if the paper has the row) and our result (if evaluated)."""

    model: str
    paper: PaperRow | None = None
    ours: EvaluationResult | None = None
    aliases: set[str] = field(default_factory=set)


def build_rows(results: Sequence[EvaluationResult], layout: str) -> list[TableRow]:
    """Paper rows in order, each with the matching result (if any), then unmatched results."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {sorted(LAYOUTS)}")
    presets = {**_OURS_PRESETS, **(TABLE6_PRESETS if layout == "table6" else {})}
    rows = []
    for p in LAYOUTS[layout]:
        aliases = {_norm(p.model)}
        if p.model in presets:
            aliases.add(_norm(presets[p.model]))
        rows.append(TableRow(model=p.model, paper=p, aliases=aliases))
    for r in results:
        target = next((row for row in rows if _norm(r.name) in row.aliases), None)
        if target is None:
            rows.append(TableRow(model=r.name, ours=r, aliases={_norm(r.name)}))
        elif target.ours is not None:
            raise ValueError(f"two result files map to the row {target.model!r}: "
                             f"{target.ours.name!r} and {r.name!r}")
        else:
            target.ours = r
    return rows


def _proxy_keys(rows: Sequence[TableRow]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        if row.ours is not None:
            keys += [k for k in row.ours.proxies if k not in keys]
    return keys


def _fmt(m: MetricResult | None, key: str) -> str:
    if m is None:
        return ""
    return m.display("{:.2f}" if key == "fid" else "{:.3f}")


def _paper_fmt(p: PaperRow | None, key: str) -> str:
    if p is None:
        return ""
    v = p.value(key)
    return f"{v:g}" if key == "fid" else f"{v:.3f}"  # as printed in the paper


def table_cells(rows: Sequence[TableRow]) -> tuple[list[str], list[list[str]]]:
    """Header and body cells: for each metric 'ours' and 'paper' columns, then proxy columns, then N."""
    proxies = _proxy_keys(rows)
    header = ["Model"]
    for k in METRIC_KEYS:
        arrow = "↑" if HIGHER_IS_BETTER[k] else "↓"
        header += [f"{METRIC_TITLES[k]} {arrow} (ours)", f"{METRIC_TITLES[k]} (paper)"]
    header += [f"{k} (proxy, not in paper)" for k in proxies] + ["N pairs (ours)"]
    body = []
    for row in rows:
        cells = [row.model]
        for k in METRIC_KEYS:
            ours = row.ours.metrics.get(k) if row.ours is not None else None
            cells += [_fmt(ours, k), _paper_fmt(row.paper, k)]
        for k in proxies:
            cells.append(_fmt(row.ours.proxies.get(k), k) if row.ours is not None else "")
        cells.append(str(row.ours.n_pairs) if row.ours is not None else "")
        body.append(cells)
    return header, body


def render_markdown(rows: Sequence[TableRow], layout: str) -> str:
    header, body = table_cells(rows)
    title = {"table1": "Table 1: quantitative results on LFW",
             "table6": "Table 6 (supplementary): ablation studies on LFW"}[layout]
    out = [f"### {title}", "",
           "'(paper)' columns are the numbers printed in the paper; '(ours)' columns come from our result "
           "files. 'unavailable' = the metric network's converted weights were absent (never computed with "
           "random weights).", "",
           "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c if c else "–" for c in cells) + " |" for cells in body]
    missing: dict[str, list[str]] = {}
    for row in rows:
        if row.ours is None:
            continue
        for k, m in row.ours.metrics.items():
            if m.status == "unavailable":
                what = f"{METRIC_TITLES.get(k, k)}: " + (f"`{m.command}`" if m.command else m.reason)
                missing.setdefault(what, []).append(row.model)
    if missing:
        out += ["", "Unavailable metrics (their networks' converted weights are absent) and how to provide them:"]
        out += [f"- {what} (rows: {', '.join(models)})" for what, models in missing.items()]
    return "\n".join(out) + "\n"


def render_csv(rows: Sequence[TableRow]) -> str:
    header, body = table_cells(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(body)
    return buf.getvalue()


def plot_bars(rows: Sequence[TableRow], layout: str, path: Path) -> Path:
    """One panel per metric: the paper's number (grey, hatched) and ours (blue) for every row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(METRIC_KEYS), figsize=(4.2 * len(METRIC_KEYS), 4.2))
    names = [row.model for row in rows]
    x = np.arange(len(rows))
    for ax, k in zip(axes, METRIC_KEYS):
        paper = [row.paper.value(k) if row.paper is not None else np.nan for row in rows]
        ours = []
        for row in rows:
            m = row.ours.metrics.get(k) if row.ours is not None else None
            ours.append(m.value if m is not None and m.status == "ok" else np.nan)
        ax.bar(x - 0.2, paper, 0.4, color="0.75", hatch="//", label="paper")
        ax.bar(x + 0.2, ours, 0.4, color="tab:blue", label="ours")
        ax.set_title(f"{METRIC_TITLES[k]} ({'higher' if HIGHER_IS_BETTER[k] else 'lower'} is better)",
                     fontsize=9)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    axes[0].legend(fontsize=8)
    fig.suptitle(layout)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_table(result_paths: Sequence[str | Path], layout: str, out_dir: str | Path,
                plot: bool = True) -> dict[str, Path]:
    """Read the result files and write ``<layout>.md``, ``.csv`` (and ``.png``) under ``out_dir``."""
    rows = build_rows([load_result(p) for p in result_paths], layout)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"md": out / f"{layout}.md", "csv": out / f"{layout}.csv"}
    written["md"].write_text(render_markdown(rows, layout))
    written["csv"].write_text(render_csv(rows))
    if plot:
        written["png"] = plot_bars(rows, layout, out / f"{layout}.png")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.table", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="result JSON files written by evaluate.py")
    ap.add_argument("--layout", choices=sorted(LAYOUTS), default="table1")
    ap.add_argument("--out", default="tables", help="output folder (default: tables)")
    ap.add_argument("--no-plot", action="store_true", help="skip the bar chart")
    args = ap.parse_args(argv)
    written = write_table(args.results, args.layout, args.out, plot=not args.no_plot)
    sys.stdout.write(written["md"].read_text())
    for kind, p in written.items():
        print(f"wrote {kind}: {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
