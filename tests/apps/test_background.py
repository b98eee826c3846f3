"""Background replacement (supplementary §4): Laplacian blending, the foreground mask, the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image


# ------------------------------------------------------------------------------------- blending
def _hand_blend(a: np.ndarray, b: np.ndarray, m: np.ndarray, levels: int) -> np.ndarray:
    """Burt & Adelson blending written out level by level with cv2.pyrDown / cv2.pyrUp."""
    ga, gb, gm = [a], [b], [m]
    for _ in range(levels - 1):
        ga.append(cv2.pyrDown(ga[-1]))
        gb.append(cv2.pyrDown(gb[-1]))
        gm.append(cv2.pyrDown(gm[-1]))
    blended = []
    for k in range(levels):
        if k < levels - 1:
            size = (ga[k].shape[1], ga[k].shape[0])
            la = ga[k] - cv2.pyrUp(ga[k + 1], dstsize=size)
            lb = gb[k] - cv2.pyrUp(gb[k + 1], dstsize=size)
        else:
            la, lb = ga[k], gb[k]
        w = gm[k][..., None]
        blended.append(w * la + (1 - w) * lb)
    out = blended[-1]
    for k in range(levels - 2, -1, -1):
        out = cv2.pyrUp(out, dstsize=(blended[k].shape[1], blended[k].shape[0])) + blended[k]
    return out


@pytest.mark.parametrize("h, w, levels", [(16, 16, 3), (13, 22, 2), (33, 47, 4), (9, 9, 1)])
def test_laplacian_blend_equals_hand_computed_pyramid(h, w, levels):
    from facehalluc.background import laplacian_blend, max_levels

    rng = np.random.default_rng(h * 100 + w)
    a = rng.uniform(0, 255, (h, w, 3)).astype(np.float32)
    b = rng.uniform(0, 255, (h, w, 3)).astype(np.float32)
    m = (rng.uniform(size=(h, w)) > 0.5).astype(np.float32)
    got = laplacian_blend(a, b, m, levels)
    assert levels <= max_levels(h, w)  # not clipped
    # the same float32 operations in the same order (bit-identical here); the tolerance only allows an
    # OpenCV build to vectorise the 1-channel mask pyramid differently from the 3-channel one
    np.testing.assert_allclose(got, _hand_blend(a, b, m, levels), rtol=0, atol=1e-3)


def test_laplacian_blend_limits():
    from facehalluc.background import laplacian_blend, max_levels

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 255, (24, 24, 3)).astype(np.float32)
    b = rng.uniform(0, 255, (24, 24, 3)).astype(np.float32)
    m = np.zeros((24, 24), np.float32)
    m[4:20, 6:18] = 1
    # one level = plain compositing; the pyramid reconstructs exactly when both images are the same
    np.testing.assert_allclose(laplacian_blend(a, b, m, 1), np.where(m[..., None] > 0, a, b), atol=1e-4)
    np.testing.assert_allclose(laplacian_blend(a, a, m, 3), a, atol=1e-3)
    np.testing.assert_allclose(laplacian_blend(a, b, np.ones_like(m), 3), a, atol=1e-3)
    # far from the seam the result is the foreground / background (low-pass leakage is small)
    big = np.zeros((64, 64), np.float32)
    big[8:56, 8:56] = 1
    out = laplacian_blend(np.full((64, 64, 3), 200, np.float32), np.full((64, 64, 3), 20, np.float32), big, 3)
    assert abs(out[32, 32].mean() - 200) < 1 and abs(out[0, 0].mean() - 20) < 1
    assert 20 < out[32, 8].mean() < 200  # the seam is blended
    assert max_levels(128, 128) == 6 and max_levels(3, 3) == 1
    np.testing.assert_allclose(laplacian_blend(a, b, m, 99), laplacian_blend(a, b, m, max_levels(24, 24)))
    with pytest.raises(ValueError, match="levels"):
        laplacian_blend(a, b, m, 0)
    with pytest.raises(ValueError, match="differ"):
        laplacian_blend(a, b[:20], m, 2)


def test_fit_background_covers_and_centre_crops():
    from facehalluc.background import fit_background

    bg = np.zeros((100, 300, 3), np.uint8)
    bg[..., 0] = np.arange(300)[None, :] * 255 // 299  # horizontal ramp
    out = fit_background(bg, 128, 128)
    assert out.shape == (128, 128, 3)
    # scaled by 1.28 to 128x384, then the middle 128 columns: source columns 100..199 of 300
    assert 80 <= out[64, 0, 0] <= 90 and 165 <= out[64, -1, 0] <= 175
    big = fit_background(np.full((1000, 800, 3), 7, np.uint8), 128, 96)
    assert big.shape == (128, 96, 3) and (big == 7).all()
    small = fit_background(np.full((5, 5, 3), 9, np.uint8), 128, 128)
    assert small.shape == (128, 128, 3)


# ----------------------------------------------------------------------------------- foreground
@pytest.fixture(scope="module")
def faces():
    """(aligned crop, hull mask, masked face) of bundled photos and random variants of them."""
    from facehalluc.config import load_config
    from facehalluc.demo import augment_photo, bundled_face_photos
    from facehalluc.preprocess import FacePreprocessor, NoFaceError, load_rgb

    photos = bundled_face_photos()
    if not photos:
        pytest.skip("no bundled face photo (scikit-image / matplotlib sample data) installed")
    pre = FacePreprocessor(load_config("paper").preprocess)
    rng = np.random.default_rng(1)
    out = []
    for p in photos:
        rgb, _ = load_rgb(str(p))
        for k in range(3):
            try:
                s = pre.process(rgb if k == 0 else augment_photo(rgb, rng))
            except NoFaceError:
                continue
            out.append((s.aligned, s.mask, s.masked))
    return out


def test_foreground_always_contains_the_face_mask(faces):
    from facehalluc.background import estimate_foreground, replace_background
    from facehalluc.data import synthetic_arrays

    rng = np.random.default_rng(0)
    bg = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    syn = synthetic_arrays(4, seed=2)
    cases = [(a, m) for a, m, _ in faces]
    cases += [(syn.aligned[i], syn.mask[i]) for i in range(4)]
    # a package output whose context is noise, and one whose context is flat grey
    a, m, masked = faces[0]
    noise = rng.integers(0, 256, a.shape, dtype=np.uint8)
    cases.append((np.where(m[..., None] > 0, masked, noise), m))
    cases.append((np.where(m[..., None] > 0, masked, 128).astype(np.uint8), m))
    for img, mask in cases:
        face = mask > 0
        fg = estimate_foreground(img, face)
        assert fg.mask.dtype == bool and fg.mask.shape == face.shape
        assert fg.mask[face].all()
        assert 0.05 < fg.mask.mean() < 0.98
        res = replace_background(img, bg, mask)
        assert np.array_equal(res.image[face], img[face])  # face pixels kept exactly
        assert res.foreground.mask[face].all() and res.levels == 3


def test_face_mask_from_masked_face_is_the_models_rule(faces):
    import keras
    from facehalluc.background import mask_from_masked
    from facehalluc.models import mask_from_masked as model_rule

    masked = np.stack([f[2] for f in faces]).astype(np.float32) / 255.0
    ref = keras.ops.convert_to_numpy(model_rule(masked))[..., 0] > 0.5
    got = np.stack([mask_from_masked(f[2]) for f in faces])
    assert np.array_equal(got, ref) and np.array_equal(got, np.stack([f[1] for f in faces]) > 0)


def test_larger_photo_without_a_face_mask_uses_the_detected_face():
    from facehalluc.background import BackgroundError, detect_face_mask, replace_background
    from facehalluc.demo import bundled_face_photos
    from facehalluc.preprocess import load_rgb

    photos = bundled_face_photos()
    if not photos:
        pytest.skip("no bundled face photo installed")
    rgb, _ = load_rgb(str(photos[0]))
    rgb = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    face = detect_face_mask(rgb)
    assert 0.01 < face.mean() < 0.5
    res = replace_background(rgb, np.zeros((10, 10, 3), np.uint8))
    assert res.foreground.mask[face].all() and np.array_equal(res.image[face], rgb[face])
    assert res.levels == 4  # 256 px: coarsest level 32 px
    with pytest.raises(BackgroundError, match="no face"):
        replace_background(np.full((128, 128, 3), 90, np.uint8), np.zeros((10, 10, 3), np.uint8))


def test_user_foreground_is_used_and_size_mismatches_are_refused(faces):
    from facehalluc.background import replace_background

    img, mask, _ = faces[0]
    user = np.zeros(mask.shape, np.uint8)
    user[60:, :] = 255
    res = replace_background(img, np.zeros((5, 5, 3), np.uint8), mask, foreground=user, levels=1)
    assert res.foreground.method == "user"
    np.testing.assert_array_equal(res.foreground.mask, (user > 0) | (mask > 0))
    outside = ~res.foreground.mask
    assert (res.image[outside] == 0).all()  # levels=1: plain compositing over the black background
    with pytest.raises(ValueError, match="foreground mask is 64x64"):
        replace_background(img, img, mask, foreground=np.ones((64, 64), np.uint8))
    with pytest.raises(ValueError, match="face mask is 64x64"):
        replace_background(img, img, np.ones((64, 64), np.uint8))


def test_lfw_faces_keep_their_face_mask(lfw_dir):
    from facehalluc.background import replace_background
    from facehalluc.config import load_config
    from facehalluc.data.prepare import discover
    from facehalluc.preprocess import FacePreprocessor

    files = discover(lfw_dir)
    pre = FacePreprocessor(load_config("paper").preprocess)
    bg = np.full((64, 64, 3), (20, 120, 220), np.uint8)
    for f in [files[i] for i in np.linspace(0, len(files) - 1, 6).astype(int)]:
        s = pre.process(lfw_dir / f.rel)
        res = replace_background(s.aligned, bg, s.mask)
        face = s.mask > 0
        assert res.foreground.mask[face].all() and np.array_equal(res.image[face], s.aligned[face])
        assert 0.2 < res.foreground.mask.mean() < 0.95, f.rel


# ------------------------------------------------------------------------------------------ CLI
def _save(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


def test_cli_end_to_end_with_bad_inputs(faces, tmp_path, capsys):
    from facehalluc.background import main

    inp, bgs, out = tmp_path / "in", tmp_path / "bgs", tmp_path / "out"
    a0, m0, k0 = faces[0]
    a1, m1, k1 = faces[-1]
    _save(inp / "one.png", a0)
    _save(inp / "one_masked.png", k0)  # an infer.py --save-stages folder: the mask comes from here
    _save(inp / "one_block64.png", a0[::2, ::2])  # a stage file: not an input
    _save(inp / "two.png", a1)  # no companion: the face is detected
    _save(inp / "mismatch.png", a1)
    _save(inp / "mismatch_masked.png", k1[::2, ::2])  # 64x64 face mask for a 128x128 image
    (inp / "broken.png").write_bytes(b"not a png")
    rng = np.random.default_rng(0)
    _save(bgs / "a.jpg", rng.integers(0, 256, (200, 300, 3), dtype=np.uint8))
    (bgs / "b_bad.png").write_bytes(b"")
    rc = main(["--input", str(inp), "--background", str(bgs), "--output", str(out), "--mask-out"])
    assert rc == 0
    cap = capsys.readouterr()
    assert "broken.png" in cap.err and "mismatch" in cap.err and "b_bad.png" in cap.err
    assert "background replaced in 2/4 images, 2 failed, 1 unusable backgrounds" in cap.out
    report = json.loads((out / "background_report.json").read_text())
    assert report["n_inputs"] == 4 and len(report["processed"]) == 2
    fails = {Path(f["input"]).name: f["message"] for f in report["failures"]}
    assert "64x64" in fails["mismatch.png"] and "unreadable" in fails["broken.png"]
    recs = {Path(r["input"]).name: r for r in report["processed"]}
    assert recs["one.png"]["face_mask"].endswith("one_masked.png") and recs["two.png"]["face_mask"] == "detected"
    for name, face in (("one", m0 > 0), ("two", None)):
        res = np.asarray(Image.open(out / f"{name}.png"))
        fg = np.asarray(Image.open(out / f"{name}_foreground.png")) > 0
        assert res.shape == (128, 128, 3) and fg.shape == (128, 128)
        if face is not None:
            assert fg[face].all() and np.array_equal(res[face], a0[face])
    assert not list(out.glob(".tmp-*")) and not (out / "one_block64.png").exists()
    # a user foreground folder (<stem>.png) replaces the estimate
    user = tmp_path / "fgs"
    fgm = np.zeros((128, 128), np.uint8)
    fgm[40:, 20:108] = 255
    _save(user / "one.png", fgm)
    out2 = tmp_path / "out2"
    assert main(["--input", str(inp / "one.png"), "--background", str(bgs / "a.jpg"), "--output", str(out2),
                 "--foreground", str(user / "one.png"), "--levels", "2", "--mask-out"]) == 0
    fg = np.asarray(Image.open(out2 / "one_foreground.png")) > 0
    np.testing.assert_array_equal(fg, (fgm > 0) | (m0 > 0))
    assert json.loads((out2 / "background_report.json").read_text())["processed"][0]["levels"] == 2


def test_cli_usage_errors(faces, tmp_path, capsys):
    from facehalluc.background import main

    img = _save(tmp_path / "x.png", faces[0][0])
    (tmp_path / "empty").mkdir()
    assert main(["--input", str(img), "--background", str(tmp_path / "empty"), "--output", str(tmp_path / "o")]) == 2
    assert "holds no image files" in capsys.readouterr().err
    assert main(["--input", str(tmp_path / "nope.png"), "--background", str(img), "--output", str(tmp_path / "o")]) == 2
    assert "no such input" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "b.png").write_bytes(b"xx")
    assert main(["--input", str(img), "--background", str(tmp_path / "bad"), "--output", str(tmp_path / "o")]) == 2
    assert "no readable background" in capsys.readouterr().err
    assert main(["--input", str(img), "--background", str(img), "--output", str(tmp_path / "o"), "--levels", "0"]) == 2
    # nothing could be processed: exit 1
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "z.png").write_bytes(b"zz")
    assert main(["--input", str(tmp_path / "broken"), "--background", str(img), "--output", str(tmp_path / "o3")]) == 1


def test_module_entry_point(faces, tmp_path):
    import subprocess
    import sys

    img = _save(tmp_path / "x.png", faces[0][0])
    _save(tmp_path / "x_masked.png", faces[0][2])
    bg = _save(tmp_path / "bg.png", np.full((50, 70, 3), 200, np.uint8))
    r = subprocess.run([sys.executable, "-m", "facehalluc.background", "--input", str(img), "--background", str(bg),
                        "--output", str(tmp_path / "o")], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "x.png").is_file() and "background replaced in 1/1" in r.stdout
