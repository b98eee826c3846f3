"""Combine result files into the layout of paper Table 1 or supplementary Table 6.

    python -m facehalluc.evaluate.table results/*.json --layout table1 --out tables/

writes ``<layout>.md``, ``<layout>.csv`` and ``<layout>.png`` (bar chart, ours beside the paper's numbers).
Rows follow the paper's order; a result file lands on a paper row when its ``name`` is the paper's model name
(case, spaces and punctuation ignored) or the config preset that reproduces it (e.g. ``ablation_l2`` for
"l2 loss", ``paper`` for "Ours (Cascaded)").  Results matching no paper row are appended.  Every cell shows our
value, and the paper's number beside it, so no number of ours is ever presented as the paper's.

``--layout cpu`` ("Table 1 at CPU scale") has no paper rows: one row per method in the order given (a result
JSON, a folder of result JSONs, or a ``*_per_image.csv`` whose columns are averaged), one column per measure
that some row has -- SSIM and the offline measures of ``facehalluc.evaluate.offline`` with their labels and
direction (↑ higher is better, ↓ lower is better, →0 closer to zero is better), then any paper metric that was
computed -- and writes ``cpu.md``, ``cpu.csv`` and, when the results hold spectrum curves,
``cpu_spectrum.csv`` / ``.png``.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from facehalluc.evaluate.paper_numbers import (HIGHER_IS_BETTER, LAYOUTS, METRIC_KEYS, METRIC_TITLES,
                                               TABLE6_PRESETS, PaperRow)
from facehalluc.evaluate.results import EvaluationResult, MetricResult, ResultFileError, load_result

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


def markdown_rows(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines: header, rule, one line per row (empty cells shown as '–')."""
    return (["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
            + ["| " + " | ".join(c if c else "–" for c in cells) + " |" for cells in body])


def render_markdown(rows: Sequence[TableRow], layout: str) -> str:
    header, body = table_cells(rows)
    title = {"table1": "Table 1: quantitative results on LFW",
             "table6": "Table 6 (supplementary): ablation studies on LFW"}[layout]
    out = [f"### {title}", "",
           "'(paper)' columns are the numbers printed in the paper; '(ours)' columns come from our result "
           "files. 'unavailable' = the metric network's converted weights were absent (never computed with "
           "random weights).", "",
           *markdown_rows(header, body)]
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


# ----------------------------------------------------------------------------- "Table 1 at CPU scale"
CPU_LAYOUT = "cpu"
#: (section, key, number format) of the cpu layout's columns, in order; shown when some row has the value
CPU_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("metrics", "ssim", "{:.3f}"), ("proxies", "lpips_v0.1", "{:.4f}"), ("proxies", "l1_background", "{:.4f}"),
    ("proxies", "fd_alexnet", "{:.2f}"), ("proxies", "spectrum_hf_excess_db", "{:+.2f}"),
    ("proxies", "spectrum_mid_excess_db", "{:+.2f}"),
    ("proxies", "nss_fd", "{:.2f}"), ("proxies", "contrast_ratio", "{:.3f}"),
    ("proxies", "dlib_identity_cosine", "{:.3f}"), ("proxies", "dlib_identity_distance", "{:.3f}"),
    ("metrics", "match", "{:.3f}"), ("metrics", "fid", "{:.2f}"), ("metrics", "pieapp", "{:.3f}"))


def _cpu_title(section: str, key: str) -> str:
    from facehalluc.evaluate.offline import MEASURES

    if section == "metrics":
        arrow = "↑" if HIGHER_IS_BETTER[key] else "↓"
        return f"{METRIC_TITLES[key]} {arrow}" + ("" if key == "ssim" else " (paper metric)")
    m = MEASURES[key]
    return f"{m.label} {m.arrow}"


def result_from_csv(path: Path) -> EvaluationResult:
    """A per-image CSV of ``evaluate.py`` as a result: each column's mean (NaN cells skipped)."""
    import math

    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ResultFileError(f"{path}: no rows")
    metrics: dict[str, MetricResult] = {}
    proxies: dict[str, MetricResult] = {}
    for col in rows[0]:
        if col == "name":
            continue
        vals = [float(r[col]) for r in rows if r[col] not in ("", None) and math.isfinite(float(r[col]))]
        if not vals:
            continue
        target = metrics if col in METRIC_KEYS else proxies
        target[col] = MetricResult.ok(sum(vals) / len(vals), from_csv=str(path), n=len(vals))
    name = path.stem[:-len("_per_image")] if path.stem.endswith("_per_image") else path.stem
    return EvaluationResult(name=name, n_pairs=len(rows), metrics=metrics, proxies=proxies)


def load_any(paths: Sequence[str | Path]) -> list[EvaluationResult]:
    """Result JSONs, folders of result JSONs (files that are not results are skipped) and per-image CSVs."""
    out: list[EvaluationResult] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = []
            for q in sorted(p.glob("*.json")):
                try:
                    found.append(load_result(q))
                except ResultFileError:
                    continue
            if not found:
                raise ResultFileError(f"{p}: no evaluate.py result JSON in this folder")
            out += found
        elif p.suffix.lower() == ".csv":
            out.append(result_from_csv(p))
        else:
            out.append(load_result(p))
    return out


def cpu_cells(results: Sequence[EvaluationResult]) -> tuple[list[str], list[list[str]]]:
    """Header and body of the cpu layout (columns that no row has are left out)."""
    cols = []
    for section, key, fmt in CPU_COLUMNS:
        got = [getattr(r, section).get(key) for r in results]
        if any(m is not None and m.status == "ok" for m in got) or (
                section == "proxies" and any(m is not None for m in got)):
            cols.append((section, key, fmt))
    header = ["Method"] + [_cpu_title(s, k) for s, k, _ in cols] + ["N pairs"]
    body = []
    for r in results:
        cells = [r.name]
        for section, key, fmt in cols:
            m = getattr(r, section).get(key)
            cells.append("" if m is None else m.display(fmt))
        body.append(cells + [str(r.n_pairs)])
    return header, body


def write_cpu_table(paths: Sequence[str | Path], out_dir: str | Path, plot: bool = True,
                    title: str = "Table 1 at CPU scale: offline measures") -> dict[str, Path]:
    """``cpu.md`` / ``cpu.csv`` (and the spectrum curves of every row that has them) under ``out_dir``."""
    from facehalluc.evaluate.offline import MEASURES
    from facehalluc.evaluate.runner import write_spectrum_curves

    results = load_any(paths)
    header, body = cpu_cells(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = [f"### {title}", "",
          "Not the paper's protocol: measures computable offline (labels say what each is; ↑ higher is better, "
          "↓ lower is better, →0 closer to zero is better, →1 closer to one is better). 'unavailable' = its "
          "network weights or the face masks were absent.", "",
          *markdown_rows(header, body)]
    notes = {r.name: m for r in results for m in list(r.proxies.values()) + list(r.metrics.values())
             if m.status == "unavailable"}
    if notes:
        md += ["", "Unavailable: " + "; ".join(f"{n}: {m.reason}" + (f" (`{m.command}`)" if m.command else "")
                                             for n, m in notes.items())]
    if any(k in MEASURES for r in results for k in r.proxies):
        md += ["", "FD-AlexNet is a Fréchet distance on LPIPS-AlexNet features, NOT FID; LPIPS v0.1 is the "
               "training loss L_pc's network (not independent); definitions in docs/evaluation.md."]
    written = {"md": out / f"{CPU_LAYOUT}.md", "csv": out / f"{CPU_LAYOUT}.csv"}
    written["md"].write_text("\n".join(md) + "\n")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(body)
    written["csv"].write_text(buf.getvalue())
    curves = {r.name: r.proxies["spectrum_hf_excess_db"].details["curve"] for r in results
              if r.proxies.get("spectrum_hf_excess_db") is not None
              and "curve" in r.proxies["spectrum_hf_excess_db"].details}
    if curves:
        written.update(write_spectrum_curves(out / f"{CPU_LAYOUT}_spectrum", curves, plot=plot))
    return written


def write_table(result_paths: Sequence[str | Path], layout: str, out_dir: str | Path,
                plot: bool = True) -> dict[str, Path]:
    """Read the result files and write ``<layout>.md``, ``.csv`` (and ``.png``) under ``out_dir``."""
    if layout == CPU_LAYOUT:
        return write_cpu_table(result_paths, out_dir, plot=plot)
    rows = build_rows([load_result(p) for p in result_paths], layout)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"md": out / f"{layout}.md", "csv": out / f"{layout}.csv"}
    written["md"].write_text(render_markdown(rows, layout))
    written["csv"].write_text(render_csv(rows))
    if plot:
        written["png"] = plot_bars(rows, layout, out / f"{layout}.png")
    return written


if __name__ == "__main__":  # the command line: facehalluc.evaluate.cli.table
    from facehalluc.evaluate.cli.table import main

    raise SystemExit(main())
