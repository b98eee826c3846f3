"""The end-to-end demo with a handful of steps (bundled photos, eager steps)."""
from __future__ import annotations

import json

import numpy as np

import pytest


@pytest.fixture(autouse=True)
def empty_weights_cache(tmp_path, monkeypatch):
    """Every demo test runs against an empty weights cache, so none depends on what ~/.cache/facehalluc (or
    $FACEHALLUC_WEIGHTS) holds on the machine running it; the demos write nothing there either."""
    cache = tmp_path / "no_weights"
    monkeypatch.setenv("FACEHALLUC_WEIGHTS", str(cache))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # nothing falls back to the real ~/.cache
    from facehalluc.weights import cache_dir

    assert cache_dir() == cache
    yield cache
    assert not cache.exists() or not any(cache.iterdir()), sorted(cache.iterdir())


@pytest.mark.slow
def test_training_demo_end_to_end_tiny(tmp_path):
    from facehalluc.demo import bundled_face_photos
    from facehalluc.demo.cli import main

    if not bundled_face_photos():
        pytest.skip("no bundled face photo (scikit-image / matplotlib sample data) installed")
    out = tmp_path / "demo"
    rc = main(["--out", str(out), "--train", "--steps", "2", "--eager", "--train-variants", "3", "--val-variants", "1",
               "--show", "2"])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["train"]["steps"] == 2
    assert report["data"]["n_train"] >= 3 and report["data"]["n_val"] >= 1
    assert report["savedmodel"]["equal_within_1e-5"] and report["savedmodel"]["face_pixels_exact"]
    assert report["heldout"]["face_pixels_exact"]
    assert set(report["savedmodel"]["max_abs_diff_vs_keras"]) == {f"out_{r}" for r in (8, 16, 32, 64, 128)}
    assert (out / "contact_sheet.png").is_file() and (out / "run" / "generator.weights.h5").is_file()
    assert "SavedModel" in (out / "report.md").read_text()


@pytest.mark.slow
def test_default_demo_uses_the_shipped_model(tmp_path):
    """No training: bundled photos -> masks -> shipped generator -> paste-back -> contact sheet, and the
    SavedModel round trip of the shipped model."""
    from PIL import Image

    from facehalluc.demo import bundled_face_photos
    from facehalluc.demo.cli import main
    from facehalluc.store.spec import is_packed_dir, shipped_dir

    if not bundled_face_photos():
        pytest.skip("no bundled face photo (scikit-image / matplotlib sample data) installed")
    if not is_packed_dir(shipped_dir()):
        pytest.fail(f"the shipped model is missing: {shipped_dir()}")
    out = tmp_path / "demo"
    assert main(["--out", str(out), "--export"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["config"] == "shipped" and "train" not in report and not (out / "run").exists()
    n = len(bundled_face_photos())
    assert report["photos"]["n_processed"] == n and report["photos"]["failures"] == []
    assert report["savedmodel"]["equal_within_1e-5"] and report["savedmodel"]["face_pixels_exact"]
    sheet = np.asarray(Image.open(out / "contact_sheet.png"))
    # n rows of 8 columns (photo, masked, 4 blocks, out_128, paste-back), 128 px cells + 2 px padding
    assert sheet.shape[1] == 8 * 130 + 2 and sheet.shape[0] == 14 + n * 130 + 2
    for rec in json.loads((out / "images" / "inference_report.json").read_text())["processed"]:
        assert Image.open(rec["pasted"]).size == Image.open(rec["input"]).size


def test_demo_with_a_missing_model_is_a_clear_error(tmp_path, capsys):
    from facehalluc.demo.cli import main

    assert main(["--out", str(tmp_path / "d"), "--model", str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err


def test_heldout_photo_selection_uses_the_identity_split(tmp_path):
    from facehalluc.data.schema import VAL
    from facehalluc.data.split import split_of
    from facehalluc.demo.cli import _listed_photos

    names = [f"Person_{i:03d}" for i in range(200)]
    for n in names:
        for k in (1, 2):
            (tmp_path / n).mkdir(exist_ok=True)
            (tmp_path / n / f"{n}_{k:04d}.jpg").write_bytes(b"")
    got = _listed_photos(tmp_path, None, heldout=True)
    want = [tmp_path / n / f"{n}_0001.jpg" for n in names if split_of(n, "", 0.05) == VAL]
    assert got == want and 0 < len(got) < 30  # ~5 % of 200 people, one photo each
    assert _listed_photos(tmp_path, 3, heldout=True) == want[:3]
