"""The docs' generated tables equal what `python docs/tools/tables.py` makes of the committed result files."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "docs" / "tools" / "tables.py"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _tool():
    spec = importlib.util.spec_from_file_location("docs_tables", TOOL)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def _check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), "--check", "--root", str(root)], capture_output=True,
                          text=True, cwd=ROOT, env=ENV)


def test_docs_tables_match_the_result_files() -> None:
    r = _check(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    # every table is used by some doc, and the checked docs hold the markers
    assert all(name in r.stderr for name in _tool().TABLES)


@pytest.fixture()
def copy_root(tmp_path: Path) -> Path:
    """The docs and the result files they are made of, in a scratch tree."""
    for rel in ("README.md", "docs", "results"):
        src = ROOT / rel
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / rel)
    return tmp_path


def test_a_hand_edited_number_fails_the_check_and_a_rewrite_restores_it(copy_root: Path) -> None:
    doc = copy_root / "docs" / "results.md"
    text = doc.read_text()
    start = text.index("<!-- table:realism_test -->")
    row = text.index("| shipped_v1 |", start)
    edited = text[:row] + text[row:].replace("| 0.3092 |", "| 0.3091 |", 1)
    assert edited != text
    doc.write_text(edited)
    r = _check(copy_root)
    assert r.returncode == 1 and "0.3091" in r.stdout and "0.3092" in r.stdout
    fix = subprocess.run([sys.executable, str(TOOL), "--root", str(copy_root)], capture_output=True, text=True,
                         env=ENV)
    assert fix.returncode == 0 and doc.read_text() == text


def test_a_changed_result_file_fails_the_check(copy_root: Path) -> None:
    import json

    p = copy_root / "results" / "realism" / "floors_test.json"
    d = json.loads(p.read_text())
    d["rows"]["blur_sigma_2"]["nss_fd"] = 124.56  # the figure the model card once gave by hand (file: 124.45)
    p.write_text(json.dumps(d))
    r = _check(copy_root)
    assert r.returncode == 1 and "124.6" in r.stdout


def test_unknown_or_unpaired_markers_are_errors(copy_root: Path) -> None:
    doc = copy_root / "docs" / "weights.md"
    base = doc.read_text()
    doc.write_text(base + "\n<!-- table:no_such_table -->\n| a |\n<!-- /table:no_such_table -->\n")
    r = _check(copy_root)
    assert r.returncode == 2 and "no_such_table" in r.stderr
    doc.write_text(base + "\n<!-- table:realism_val -->\n")
    r = _check(copy_root)
    assert r.returncode == 2 and "realism_val" in r.stderr


def test_a_missing_result_file_is_an_error(copy_root: Path) -> None:
    (copy_root / "results" / "realism" / "runs.json").unlink()
    r = _check(copy_root)
    assert r.returncode == 2 and "runs.json" in r.stderr


def test_documented_weights_size_is_the_shipped_files() -> None:
    """One size for the shipped weights wherever the docs state it: the file's (and its manifest's) bytes."""
    import json
    import re

    shipped = ROOT / "facehalluc" / "store" / "shipped"
    size = (shipped / "generator.fp16.npz").stat().st_size
    assert json.loads((shipped / "manifest.json").read_text())["bytes"] == size
    readme, card = (ROOT / "README.md").read_text(), (ROOT / "docs" / "model_card.md").read_text()
    mb = f"{size / 1e6:.1f}"
    assert f"{size:,} bytes ({mb} MB = {size / 2 ** 20:.1f} MiB" in card
    stated = re.findall(r"parameters, (\d+(?:\.\d+)?) MB in float16|npz is (\d+(?:\.\d+)?) MB", readme + card)
    assert stated and {a or b for a, b in stated} == {mb}, stated


@pytest.mark.parametrize("preset", ["tiny", "shipped"])
def test_model_size_result_files_match_the_code(preset: str) -> None:
    """results/models/*.json (the architecture doc's table) are what the code builds today (the paper
    preset's file is checked through its smaller siblings: same builders; building it takes 2.5 GB)."""
    import json

    from facehalluc.config import load_config
    from facehalluc.models.__main__ import summary_rows

    want = json.loads((ROOT / "results" / "models" / f"{preset}.json").read_text())
    got = summary_rows(load_config(preset, want["overrides"]))
    assert [(r["network"], r["parameters"]) for r in want["rows"]] == [(n, p) for n, p, _ in got]
    assert [r["gflops_per_image"] for r in want["rows"]] == pytest.approx([g for _, _, g in got], rel=1e-12)
