"""The generator shipped in the package (``--model default``): integrity, loading, the CLIs, and that it
beats the median-fill baseline on faces of people it never saw (LFW val identities, ``../shared``)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from facehalluc.store.packed import load_packed_generator, pack, read_manifest, read_train_median
from facehalluc.store.spec import ShippedModelError, is_packed_dir, shipped_dir

SIZE_BUDGET = 25 * 2 ** 20  # issue 11: at most 25 MB in the repository


def _astronaut() -> Path:
    import skimage

    p = Path(skimage.__file__).resolve().parent / "data" / "astronaut.png"
    if not p.is_file():
        pytest.skip("scikit-image's astronaut.png is not installed")
    return p


def _synthetic_masked(n: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random faces inside an ellipse, black outside: (masked (n,128,128,3), mask (n,128,128))."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:128, :128]
    mask = (((yy - 64) / 34.0) ** 2 + ((xx - 64) / 26.0) ** 2 <= 1).astype(np.float32)
    masked = rng.uniform(0.2, 0.9, (n, 128, 128, 3)).astype(np.float32) * mask[None, ..., None]
    return masked, np.broadcast_to(mask, (n, 128, 128)).copy()


def test_shipped_files_match_manifest_and_budget():
    d = shipped_dir()
    assert is_packed_dir(d), f"{d}: the shipped model is missing"
    man = read_manifest(d)
    w = d / man["weights"]
    assert hashlib.sha256(w.read_bytes()).hexdigest() == man["sha256"]
    assert w.stat().st_size == man["bytes"]
    total = sum(p.stat().st_size for p in d.iterdir() if p.is_file())
    assert total <= SIZE_BUDGET, f"shipped model is {total / 2**20:.1f} MB > 25 MB"
    with np.load(w, allow_pickle=False) as z:
        assert all(z[k].dtype == np.float16 for k in z.files)
        assert sum(z[k].size for k in z.files) == man["parameters"]
    assert man["fp16_check"]["max_abs_diff_out_128"] <= 1 / 255 and man["fp16_check"]["faces"] >= 64
    assert read_train_median(d).shape == (128, 128, 3)


def test_shipped_model_loads_and_keeps_face_pixels():
    from facehalluc.infer import load_hallucinator

    h = load_hallucinator("default")
    assert h.cfg.name == "shipped" and h.path == shipped_dir()
    masked, mask = _synthetic_masked()
    out = h.run(masked, mask)
    assert set(out) == {f"out_{r}" for r in (8, 16, 32, 64, 128)}
    o = out["out_128"]
    assert np.all(np.isfinite(o)) and o.min() >= 0 and o.max() <= 1
    face = np.broadcast_to(mask[..., None] > 0.5, o.shape)
    np.testing.assert_array_equal(o[face], masked[face])
    assert float(np.abs(o[~face]).mean()) > 0.05  # the background is filled, not left black


def test_corrupt_weights_are_refused(tmp_path, capsys):
    from facehalluc.infer.cli import main

    d = tmp_path / "copy"
    shutil.copytree(shipped_dir(), d)
    w = d / read_manifest(d)["weights"]
    raw = bytearray(w.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    w.write_bytes(bytes(raw))
    with pytest.raises(ShippedModelError, match="sha256"):
        load_packed_generator(d)
    assert main(["--model", str(d), "--input", str(_astronaut()), "--output", str(tmp_path / "o"),
                 "--no-progress"]) == 2
    assert "sha256" in capsys.readouterr().err


def test_pack_round_trip_and_fp16_tolerance(tmp_path, tiny_config):
    from facehalluc.infer import load_hallucinator
    from facehalluc.train import build_generator, save_generator

    import keras

    keras.utils.set_random_seed(0)
    save_generator(tmp_path / "run", tiny_config, build_generator(tiny_config))
    masked, mask = _synthetic_masked(4, seed=1)
    median = np.full((128, 128, 3), 127.4)
    man = pack(tmp_path / "run", tmp_path / "packed", check_faces=masked, train_median=median,
               provenance={"steps": 0})
    assert man["provenance"] == {"steps": 0} and man["fp16_check"]["faces"] == 4
    assert np.array_equal(read_train_median(tmp_path / "packed"), np.full((128, 128, 3), 127, np.uint8))
    a = load_hallucinator(tmp_path / "run").run(masked, mask)["out_128"]
    b = load_hallucinator(tmp_path / "packed").run(masked, mask)["out_128"]
    assert 0 < np.abs(a - b).max() <= 1 / 255  # float16 rounding shows, within one 8-bit step
    # an impossible tolerance: refused, and no manifest is left behind (the folder is not loadable)
    with pytest.raises(ShippedModelError, match="not packed"):
        pack(tmp_path / "run", tmp_path / "strict", check_faces=masked, tolerance=0.0)
    assert not is_packed_dir(tmp_path / "strict")


@pytest.mark.slow
def test_infer_without_model_uses_the_shipped_one_and_exports(tmp_path):
    from PIL import Image

    from facehalluc.infer.cli import main

    photo = _astronaut()
    assert main(["--input", str(photo), "--output", str(tmp_path / "out"), "--paste-back", "--no-progress"]) == 0
    rep = json.loads((tmp_path / "out" / "inference_report.json").read_text())
    assert rep["model"] == str(shipped_dir()) and rep["n_processed"] == 1
    assert Image.open(tmp_path / "out" / "astronaut.png").size == (128, 128)
    assert main(["--model", "default", "--export", str(tmp_path / "sm")]) == 0
    assert (tmp_path / "sm" / "saved_model.pb").is_file()


def test_missing_shipped_model_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import facehalluc.store.spec as pretrained
    from facehalluc.infer.cli import main

    monkeypatch.setattr(pretrained, "shipped_dir", lambda: tmp_path / "absent")
    assert main(["--input", str(_astronaut()), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "shipped generator is missing" in err and "run directory" in err


def test_evaluate_cli_scores_the_default_model(tmp_path):
    from facehalluc.data import write_synthetic_dataset
    from facehalluc.evaluate.cli import main

    h5 = write_synthetic_dataset(tmp_path / "syn.h5", n=8, val_fraction=0.5, seed=0)
    out = tmp_path / "default.json"
    assert main(["--model", "default", "--data", str(h5), "--split", "val", "--out", str(out),
                 "--metrics", "ssim", "--proxies", "none", "--quiet", "--no-figures", "--limit", "2"]) == 0
    res = json.loads(out.read_text())
    assert res["n_pairs"] == 2 and res["metrics"]["ssim"]["status"] == "ok"
    assert "shipped" in res["settings"]["model_kind"]


# --------------------------------------------------------------------------- real data (../shared)
N_VAL_PHOTOS = 48


def test_shipped_model_beats_median_fill_on_heldout_lfw(lfw_dir, lpips_dir, tmp_path):
    """LPIPS v0.1 to the real photo on faces of held-out LFW identities (never seen in training): the shipped
    model against the per-pixel median of its own training faces, composited the same way
    (``facehalluc.evaluate.heldout_photos``, whose result file results/shipped/heldout_photos48.json the
    docs quote).

    The held-out identities are the ones ``data/prepare.py`` holds out (hash of the name, val_fraction 0.05);
    the first 48 photos of them in sorted order are preprocessed from the JPEGs, as for the training data.
    """
    from facehalluc.evaluate.heldout_photos import score

    res = score(lfw_dir, lpips_dir, N_VAL_PHOTOS, cache=tmp_path / "weights")
    assert res["n"] == N_VAL_PHOTOS and res["median_fill_keeps_face_pixels"]
    d_model, d_median = np.asarray(res["lpips_v0.1_model"]), np.asarray(res["lpips_v0.1_median_fill"])
    print(f"LPIPS v0.1 on {res['n']} held-out LFW faces: shipped model {d_model.mean():.4f}, "
          f"median fill {d_median.mean():.4f}; model better on {(d_model < d_median).mean():.0%} of faces")
    # The claim (model card, from results/shipped/heldout_photos48.json): 0.309 vs 0.518 on these 48 faces, the
    # model better on every one.  Measured 0.3090 on AMD EPYC (Zen 5) and on Intel Xeon with AVX-512/AMX: float32 differences between CPU kinds are
    # < 1e-4 here, so +-0.001 (one unit of the quoted third decimal) is the claim's own precision.
    assert d_model.mean() == pytest.approx(0.309, abs=1e-3)
    assert d_median.mean() == pytest.approx(0.518, abs=1e-3)
    assert np.all(d_model < d_median), f"median fill better on {int((d_model >= d_median).sum())} faces"


def test_every_shipped_file_is_package_data(repo_root):
    """setup.py's package_data must cover every file of the shipped folder, or a wheel ships without it
    (checked by pattern here; `pip wheel .` was inspected by hand: all four files are in the wheel)."""
    import ast
    import fnmatch

    tree = ast.parse((repo_root / "setup.py").read_text())
    data = next(kw.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                for kw in node.keywords if kw.arg == "package_data")
    patterns = ast.literal_eval(data)["facehalluc.store"]
    for f in shipped_dir().iterdir():
        assert any(fnmatch.fnmatch(f"shipped/{f.name}", p) for p in patterns), f.name


def test_shipped_manifest_records_its_provenance():
    """Code version, library versions, data hash and preprocessing, split lists, every command and the machine
    (python -m facehalluc.pretrained info prints them): what it takes to make the same model again."""
    from facehalluc.pretrained.__main__ import summary
    from facehalluc.pretrained.provenance import REQUIRED

    man = read_manifest(shipped_dir())
    prov = man["provenance"]
    missing = [k for k in REQUIRED if k not in prov]
    assert not missing, f"manifest provenance lacks {missing}"
    # what could not be recovered for a model packed before provenance existed is named, never silently absent
    lost = {s.split(":")[0] for s in prov.get("not_recoverable", [])}
    if "code" in lost:
        assert prov["code"]["note"] and "not recoverable: code" in summary(man)
    else:
        assert len(prov["code"]["commit"]) == 40 and prov["code"]["dirty"] is False
        assert "code: commit " + prov["code"]["commit"] in summary(man)
    if "libraries" not in lost:
        assert {"python", "tensorflow", "keras", "numpy", "dlib-bin"} <= set(prov["libraries"])
    assert len(prov["data"]["sha256"]) == 64 and prov["data"]["preprocess"]["output_size"] == 128
    assert prov["data"]["faces"] > 10_000
    assert {"train", "val", "test"} <= set(prov["splits"])
    assert all(len(s["sha256"]) == 64 and s["identities"] > 0 for s in prov["splits"].values())
    assert prov["commands"] and all("argv" in c for c in prov["commands"])
    assert prov["wall_seconds"] > 0
    assert "code: commit not recorded" in summary({})


def test_pack_refuses_a_dirty_tree_unless_forced(tmp_path, monkeypatch):
    from facehalluc.pretrained import provenance

    monkeypatch.setattr(provenance, "git_state", lambda: {"commit": "a" * 40, "dirty": True})
    with pytest.raises(provenance.DirtyTreeError, match="--force"):
        provenance.collect(tmp_path, tmp_path / "data.h5")
