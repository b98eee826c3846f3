"""The end-to-end demo with a handful of steps (bundled photos, eager steps)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("keras")


def test_demo_end_to_end_tiny(tmp_path):
    from facehalluc.demo import bundled_face_photos, main

    if not bundled_face_photos():
        pytest.skip("no bundled face photo (scikit-image / matplotlib sample data) installed")
    out = tmp_path / "demo"
    rc = main(["--out", str(out), "--steps", "2", "--eager", "--train-variants", "3", "--val-variants", "1",
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
