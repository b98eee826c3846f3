"""Paper numbers (Tables 1 and 6) and the table builder (facehalluc.evaluate.table)."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from facehalluc.evaluate import paper_numbers as P
from facehalluc.evaluate.results import (EvaluationResult, MetricResult, ResultFileError, load_result,
                                         save_result)
from facehalluc.evaluate.cli.table import main
from facehalluc.evaluate.table import build_rows, render_markdown, write_table

from support.paths import SHARED

PAPER = SHARED / "paper"


def _numeric_rows(text: str, caption: str, before: bool) -> list[list[float]]:
    """The 4-number rows of the table whose caption is ``caption`` (rows before or after the caption)."""
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith(caption))
    span = lines[max(0, i - 12):i] if before else lines[i + 1:i + 14]
    rows = []
    for line in span:
        cells = re.sub(r"</?b>", "", line).split("\t")
        if len(cells) == 5 and re.fullmatch(r"[0-9.]+", cells[1].strip()):
            rows.append([float(c) for c in cells[1:]])
    return rows


def _ours(rows: tuple[P.PaperRow, ...]) -> list[list[float]]:
    return [[r.match, r.ssim, r.fid, r.pieapp] for r in rows]


@pytest.mark.skipif(not (PAPER / "paper-main.md").is_file(), reason=f"{PAPER} absent")
def test_table1_matches_paper_text() -> None:
    text = (PAPER / "paper-main.md").read_text()
    assert _numeric_rows(text, "Table 1: Quantitative results", before=False) == _ours(P.TABLE1)
    for row in P.TABLE1:
        assert row.model.split(" ")[0] in text


@pytest.mark.skipif(not (PAPER / "paper-supplementary.md").is_file(), reason=f"{PAPER} absent")
def test_table6_matches_paper_text() -> None:
    text = (PAPER / "paper-supplementary.md").read_text()
    assert _numeric_rows(text, "Table 6: Ablation Studies", before=True) == _ours(P.TABLE6)


def test_paper_tables_self_consistent() -> None:
    # the two "Ours" rows are printed in both tables and must agree
    t1 = {r.model: r for r in P.TABLE1}
    for r in P.TABLE6[-2:]:
        assert t1[r.model] == r
    assert set(P.TABLE6_PRESETS) == {r.model for r in P.TABLE6}


def _result(name: str, match: float, fid: MetricResult | None = None) -> EvaluationResult:
    return EvaluationResult(
        name=name, n_pairs=7,
        metrics={"match": MetricResult.ok(match), "ssim": MetricResult.ok(0.5),
                 "fid": fid or MetricResult.ok(123.456),
                 "pieapp": MetricResult.unavailable("PieAPP weights absent.", "python -m x convert pieapp")},
        proxies={"dlib_identity_cosine": MetricResult.ok(0.9)})


def test_result_roundtrip_and_validation(tmp_path: Path) -> None:
    p = save_result(_result("paper", 0.7), tmp_path / "r.json")
    r = load_result(p)
    assert r.name == "paper" and r.metrics["match"].value == 0.7
    assert r.metrics["pieapp"].status == "unavailable" and "convert" in r.metrics["pieapp"].command
    (tmp_path / "bad.json").write_text('{"format_version": 1, "name": "x"}')
    with pytest.raises(ResultFileError, match="bad.json.*n_pairs"):
        load_result(tmp_path / "bad.json")
    with pytest.raises(ValueError):
        MetricResult(status="ok", value=None)


def test_rows_map_presets_and_names() -> None:
    rows = build_rows([_result("ablation_l2", 0.1), _result("Ours (ProGAN)", 0.2), _result("mine", 0.3)],
                      "table6")
    by = {r.model: r for r in rows}
    assert by["l2 loss"].ours.metrics["match"].value == 0.1
    assert by["Ours (ProGAN)"].ours.metrics["match"].value == 0.2
    assert rows[-1].model == "mine" and rows[-1].paper is None
    assert by["w/o L_adv"].ours is None
    with pytest.raises(ValueError, match="two result files"):
        build_rows([_result("paper", 0.1), _result("Ours (Cascaded)", 0.2)], "table1")


def test_write_table_files(tmp_path: Path) -> None:
    paths = [save_result(_result("paper", 0.7), tmp_path / "a.json"),
             save_result(_result("GenFace", 0.4, MetricResult.unavailable("no inception", "cmd")),
                         tmp_path / "b.json")]
    written = write_table(paths, "table1", tmp_path / "out")
    rows = list(csv.reader(written["csv"].open()))
    header = rows[0]
    assert header[1:3] == ["Mean Match Score ↑ (ours)", "Mean Match Score (paper)"]
    assert "dlib_identity_cosine (proxy, not in paper)" in header
    body = {r[0]: r for r in rows[1:]}
    assert body["Ours (Cascaded)"][1:3] == ["0.700", "0.722"]
    assert body["Ours (Cascaded)"][5] == "123.46"
    assert body["GenFace"][5] == "unavailable" and body["GenFace"][6] == "177.06"
    assert body["DeepFake"][1] == "" and body["DeepFake"][2] == "0.459"
    md = written["md"].read_text()
    assert "python -m x convert pieapp" in md and md.count("\n|") == 1 + 1 + len(P.TABLE1)
    assert written["png"].stat().st_size > 1000


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = save_result(_result("progan", 0.6), tmp_path / "r.json")
    assert main([str(p), "--layout", "table6", "--out", str(tmp_path / "t"), "--no-plot"]) == 0
    assert "| Ours (ProGAN) | 0.600 | 0.668 |" in capsys.readouterr().out
    assert render_markdown(build_rows([], "table1"), "table1").count("–") > 0
