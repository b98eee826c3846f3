"""Inference: paste-back geometry, the infer.py pipeline on masked faces and raw photos, SavedModel use."""
from __future__ import annotations

import json

import numpy as np
import pytest

import keras  # noqa: E402


# ------------------------------------------------------------------------------------ paste-back
def _smooth_photo(h: int = 180, w: int = 240) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([0.5 + 0.4 * np.sin(xx / 23.0), 0.5 + 0.4 * np.cos(yy / 17.0),
                    0.5 + 0.4 * np.sin((xx + yy) / 31.0)], -1)
    return np.round(img * 255).astype(np.uint8)


def _similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


def test_paste_back_is_the_inverse_of_the_alignment_warp():
    import cv2

    from facehalluc.infer import invert_affine, paste_back

    photo = _smooth_photo()
    m = _similarity(17.0, 0.8, -40.0, 10.0)  # photo -> crop
    crop = cv2.warpAffine(photo, m, (128, 128), flags=cv2.INTER_LINEAR)
    pasted = paste_back(photo, crop, m, feather=0)
    # footprint of the crop in the photo: photo pixels whose crop coordinates are inside [1, 126]
    yy, xx = np.mgrid[0:photo.shape[0], 0:photo.shape[1]]
    cx = m[0, 0] * xx + m[0, 1] * yy + m[0, 2]
    cy = m[1, 0] * xx + m[1, 1] * yy + m[1, 2]
    h, w = photo.shape[:2]
    away_from_edges = (xx >= 3) & (xx < w - 3) & (yy >= 3) & (yy < h - 3)
    inside = (cx >= 1) & (cx <= 126) & (cy >= 1) & (cy <= 126) & away_from_edges
    outside = (cx < -1) | (cx > 128) | (cy < -1) | (cy > 128)
    assert inside.sum() > 5000 and outside.sum() > 5000
    err = np.abs(pasted.astype(int) - photo.astype(int))
    assert err[inside].mean() < 1.5 and err[inside].max() <= 12  # two bilinear resamplings of a smooth image
    assert np.array_equal(pasted[outside], photo[outside])  # untouched outside the crop
    # a flat crop lands where the inverse similarity says: crop centre -> photo point
    flat = np.zeros((128, 128, 3), np.uint8)
    flat[..., 1] = 255
    px, py = invert_affine(m) @ np.array([63.5, 63.5, 1.0])
    got = paste_back(photo, flat, m, feather=4)
    assert tuple(got[int(round(py)), int(round(px))]) == (0, 255, 0)


def test_paste_back_with_the_preprocessor_transform_restores_the_face():
    """Pasting the *aligned* crop back with Sample.transform reproduces the photo around the face."""
    from facehalluc.demo import bundled_face_photos
    from facehalluc.infer import paste_back
    from facehalluc.preprocess import FacePreprocessor, load_rgb

    photos = bundled_face_photos()
    if not photos:
        pytest.skip("no bundled face photo (scikit-image / matplotlib sample data) installed")
    from facehalluc.config import load_config

    photo, _ = load_rgb(str(photos[0]))
    s = FacePreprocessor(load_config("tiny").preprocess).process(photo)
    import cv2

    # the crop is a downscaled resampling of the photo, so compare with a slightly blurred photo
    reference = cv2.GaussianBlur(photo, (0, 0), 1.0).astype(int)
    l, t, r, b = s.face_box
    region = (slice(max(t, 0), b), slice(max(l, 0), r))

    def err(matrix):
        return np.abs(paste_back(photo, s.aligned, matrix, feather=0)[region].astype(int) - reference[region]).mean()

    good = err(s.transform)
    assert good < 3.0
    # misplacing the crop by two crop pixels (about 3 photo pixels) is clearly worse
    assert err(s.transform + np.array([[0, 0, 2.0], [0, 0, 0]])) > 3 * good
    assert err(s.transform + np.array([[0, 0, 0], [0, 0, 2.0]])) > 3 * good


# ------------------------------------------------------------------------------------- pipeline
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from facehalluc.config import load_config
    from facehalluc.data import synthetic_arrays
    from facehalluc.utils.image import write_image
    from facehalluc.models import build_cascade
    from facehalluc.train import save_generator

    root = tmp_path_factory.mktemp("infer")
    cfg = load_config("tiny")
    keras.utils.set_random_seed(7)
    save_generator(root / "run", cfg, build_cascade(cfg))
    arrays = synthetic_arrays(5, seed=3)
    inputs = root / "masked"
    for i in range(5):
        write_image(inputs / f"face{i}.png", arrays.masked[i])
    return root, arrays


def test_masked_inputs_end_to_end(tiny_run, tmp_path):
    from facehalluc.infer.cli import main
    from facehalluc.train import load_generator

    root, arrays = tiny_run
    inputs = root / "masked"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"not a png")
    from facehalluc.utils.image import write_image

    write_image(bad / "small.png", np.ones((64, 64, 3), np.float32))
    out = tmp_path / "out"
    rc = main(["--model", str(root / "run"), "--input", str(inputs), str(bad), "--masked", "--output", str(out),
               "--batch-size", "2", "--save-stages", "--no-progress"])
    assert rc == 0
    report = json.loads((out / "inference_report.json").read_text())
    assert report["n_inputs"] == 7 and report["n_processed"] == 5 and report["n_failed"] == 2
    errors = {f["input"].split("/")[-1]: f for f in report["failures"]}
    assert errors["broken.png"]["error"] == "ImageError"
    assert "64x64" in errors["small.png"]["message"]
    from PIL import Image

    model, _ = load_generator(root / "run")
    ref = model(arrays.masked.astype(np.float32) / 255.0)
    for i in range(5):
        got = np.asarray(Image.open(out / f"face{i}.png"))
        face = arrays.mask[i] > 0
        assert np.array_equal(got[face], arrays.masked[i][face])  # face pixels bit-exact
        expect = np.round(np.clip(np.asarray(ref["out_128"][i]), 0, 1) * 255).astype(int)
        assert np.abs(got.astype(int) - expect).max() <= 1
        for r in (8, 16, 32, 64):
            stage = np.asarray(Image.open(out / f"face{i}_block{r}.png"))
            assert stage.shape == (r, r, 3)
        assert (out / f"face{i}_masked.png").is_file()
    sheet = np.asarray(Image.open(out / "contact_sheet.png"))
    assert sheet.shape[0] > 5 * 128 and sheet.shape[1] > 6 * 128  # 5 rows; masked + 4 stages + out


def test_nothing_processed_exits_1_and_reports(tiny_run, tmp_path):
    from facehalluc.infer.cli import main

    root, _ = tiny_run
    (tmp_path / "a.png").write_bytes(b"")
    rc = main(["--model", str(root / "run"), "--input", str(tmp_path / "a.png"), "--masked",
               "--output", str(tmp_path / "o"), "--no-progress"])
    assert rc == 1
    report = json.loads((tmp_path / "o" / "inference_report.json").read_text())
    assert report["n_processed"] == 0 and report["n_failed"] == 1
    assert main(["--model", str(tmp_path), "--input", str(tmp_path / "a.png"), "--output", str(tmp_path)]) == 2


def test_raw_photo_with_paste_back(tiny_run, tmp_path):
    from PIL import Image

    from facehalluc.demo import bundled_face_photos
    from facehalluc.infer.cli import main

    photos = bundled_face_photos()
    if not photos:
        pytest.skip("no bundled face photo installed")
    root, _ = tiny_run
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(tmp_path / "wall.png")
    out = tmp_path / "out"
    rc = main(["--model", str(root / "run"), "--input", str(photos[0]), str(tmp_path / "wall.png"),
               "--output", str(out), "--paste-back", "--save-stages", "--no-progress"])
    assert rc == 0
    report = json.loads((out / "inference_report.json").read_text())
    assert report["n_processed"] == 1 and report["failures"][0]["error"] == "NoFaceError"
    stem = photos[0].stem
    photo = np.asarray(Image.open(photos[0]).convert("RGB"))
    pasted = np.asarray(Image.open(out / f"{stem}_pasted.png"))
    assert pasted.shape == photo.shape
    assert not np.array_equal(pasted, photo)  # the crop region was replaced
    masked = np.asarray(Image.open(out / f"{stem}_masked.png"))
    result = np.asarray(Image.open(out / f"{stem}.png"))
    face = masked.max(-1) > 0
    assert face.mean() > 0.1 and np.array_equal(result[face], masked[face])


@pytest.mark.slow
def test_export_flag_and_savedmodel_inference_match_run_dir(tiny_run, tmp_path):
    from PIL import Image

    from facehalluc.infer.cli import main

    root, _ = tiny_run
    sm = tmp_path / "sm"
    assert main(["--model", str(root / "run"), "--export", str(sm)]) == 0
    assert (sm / "saved_model.pb").is_file()
    for model, out in ((root / "run", tmp_path / "a"), (sm, tmp_path / "b")):
        assert main(["--model", str(model), "--input", str(root / "masked"), "--masked", "--output", str(out),
                     "--no-progress"]) == 0
    report = json.loads((tmp_path / "b" / "inference_report.json").read_text())
    assert report["model_source"] == "savedmodel"
    for i in range(5):
        a = np.asarray(Image.open(tmp_path / "a" / f"face{i}.png")).astype(int)
        b = np.asarray(Image.open(tmp_path / "b" / f"face{i}.png")).astype(int)
        assert np.abs(a - b).max() <= 1


def test_paste_back_warps_only_the_covered_region_with_full_frame_values():
    """The region-of-interest warp equals warping the whole photo frame (the former implementation) to
    one 8-bit step: OpenCV quantises source coordinates to 1/32 pixel in fixed point, and a different
    origin can flip that rounding for a few pixels; pixels the crop does not cover stay bit-exact."""
    import cv2

    from facehalluc.infer import feather_alpha, paste_back

    rng = np.random.default_rng(0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(40, 400, 2))
        photo = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        crop = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
        a, k = rng.uniform(-0.6, 0.6), rng.uniform(0.3, 3.0)
        m = np.array([[k * np.cos(a), -k * np.sin(a), rng.uniform(-200, 200)],
                      [k * np.sin(a), k * np.cos(a), rng.uniform(-200, 200)]])
        warped = cv2.warpAffine(crop.astype(np.float32) / 255, m, (w, h), flags=flags)
        alpha = cv2.warpAffine(feather_alpha(128, 3.0), m, (w, h), flags=flags)[..., None]
        full = np.round(np.clip(photo / 255.0 * (1 - alpha) + np.clip(warped, 0, 1) * alpha, 0, 1) * 255)
        got = paste_back(photo, crop, m, feather=3.0).astype(int)
        assert np.abs(got - full.astype(int)).max() <= 1
        assert np.array_equal(got[alpha[..., 0] == 0], photo[alpha[..., 0] == 0])
