"""evaluate.py end to end on small synthetic images (no network weights: those metrics are 'unavailable')."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from facehalluc.evaluate import metrics as M
from facehalluc.evaluate.cli import main
from facehalluc.evaluate.images import PairingError, load_image, pair_images, resize_to
from facehalluc.utils.image import ImageError, write_image


def _faces(n: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    base = np.stack([xx, yy, 0.5 * (xx + yy)], -1)
    return np.stack([np.clip(base * rng.uniform(0.5, 1.0) + 0.05 * rng.standard_normal(base.shape), 0, 1)
                     for _ in range(n)])


def _write(folder: Path, images: np.ndarray, names: list[str], ext: str = ".png") -> None:
    for img, n in zip(images, names):
        write_image(folder / f"{n}{ext}", img)


def test_pairing_by_name_and_error_lists_unmatched(tmp_path: Path) -> None:
    imgs = _faces(3, 16, 0)
    _write(tmp_path / "r", imgs, ["a", "b", "sub/c"])
    _write(tmp_path / "f", imgs, ["a", "b", "sub/c"], ext=".jpg")
    assert [p.name for p in pair_images(tmp_path / "r", tmp_path / "f")] == ["a", "b", "sub/c"]
    _write(tmp_path / "f", imgs[:1], ["zz"])
    (tmp_path / "r" / "b.png").unlink()
    with pytest.raises(PairingError, match=r"only in --real \(0\)|only in --fake") as e:
        pair_images(tmp_path / "r", tmp_path / "f")
    assert "b" in str(e.value) and "zz" in str(e.value)
    assert "only in --real" not in str(e.value)


def test_resize_rule(tmp_path: Path) -> None:
    import cv2

    big = (np.random.default_rng(0).random((256, 256, 3)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(resize_to(big), cv2.resize(big, (128, 128), interpolation=cv2.INTER_AREA))
    assert resize_to(big[:64, :64]).shape == (128, 128, 3)
    with pytest.raises(ImageError, match="only square"):
        resize_to(big[:, :200], where="x.png")
    write_image(tmp_path / "b.png", big)
    np.testing.assert_array_equal(load_image(tmp_path / "b.png", size=None), big)


def test_cli_dirs_scores_and_unavailable_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = _faces(5, 128, 1)
    rng = np.random.default_rng(2)
    fake = np.clip(real + 0.1 * rng.standard_normal(real.shape), 0, 1)
    names = [f"img{i}" for i in range(5)]
    _write(tmp_path / "real", real, names)
    _write(tmp_path / "fake", fake, names)
    out = tmp_path / "res" / "noisy.json"
    rc = main(["--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"), "--out", str(out),
               "--metrics", "ssim,fid,match", "--proxies", "none", "--name", "noisy", "--quiet",
               "--weights-dir", str(tmp_path / "empty_cache")])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["name"] == "noisy" and res["n_pairs"] == 5
    # SSIM on the PNG round-trip of the images, computed independently here
    r8 = np.stack([load_image(tmp_path / "real" / f"{n}.png") for n in names])
    f8 = np.stack([load_image(tmp_path / "fake" / f"{n}.png") for n in names])
    want = M.ssim_scores(r8, f8)
    assert res["metrics"]["ssim"]["value"] == pytest.approx(want.mean(), abs=1e-9)
    for key, net in (("fid", "fid_inception"), ("match", "resnet50_256d_vggface2")):
        m = res["metrics"][key]
        assert m["status"] == "unavailable" and m["value"] is None
        assert m["command"].startswith(f"python -m facehalluc.weights convert {net} --src")
    assert res["metrics"]["pieapp"]["status"] == "not_requested"
    rows = list(csv.reader((tmp_path / "res" / "noisy_per_image.csv").open()))
    assert rows[0] == ["name", "ssim"] and len(rows) == 6
    assert float(rows[1][1]) == pytest.approx(want[0], abs=1e-6)
    assert (tmp_path / "res" / "noisy_ssim_best_worst.png").stat().st_size > 1000
    text = capsys.readouterr().out
    assert "unavailable" in text and "convert fid_inception" in text


def test_cli_reports_pairing_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "real", _faces(1, 32, 3), ["a"])
    _write(tmp_path / "fake", _faces(1, 32, 3), ["b"])
    rc = main(["--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"), "--out",
               str(tmp_path / "o.json"), "--quiet"])
    assert rc == 2 and "only in --fake (1): b" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--real", str(tmp_path / "real")])


def test_cli_model_run_dir(tmp_path: Path, tiny_config) -> None:  # type: ignore[no-untyped-def]
    from facehalluc.data import write_synthetic_dataset
    from facehalluc.train import build_generator, save_generator

    h5 = write_synthetic_dataset(tmp_path / "syn.h5", n=8, val_fraction=0.5, seed=0)
    save_generator(tmp_path / "run", tiny_config, build_generator(tiny_config))
    out = tmp_path / "model.json"
    rc = main(["--model", str(tmp_path / "run"), "--data", str(h5), "--split", "val", "--out", str(out),
               "--metrics", "ssim", "--proxies", "none", "--quiet", "--no-figures", "--limit", "3"])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["n_pairs"] == 3 and res["name"] == "run" and res["settings"]["split"] == "val"
    assert res["metrics"]["ssim"]["status"] == "ok"
    # the generated pairs keep the dataset's originals as 'real'
    from facehalluc.data import read_arrays

    arr = read_arrays(h5, "val")
    np.testing.assert_array_equal(load_image(tmp_path / "model_images" / "real" / "0.png"), arr.aligned[0])


def test_savedmodel_predictor(tmp_path: Path) -> None:
    import tensorflow as tf

    from facehalluc.evaluate.generate import ModelLoadError, load_predictor

    class Halve(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None, 128, 128, 3), tf.float32, name="masked")])
        def serve(self, masked: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"out_128": masked * 0.5}

    mod = Halve()
    tf.saved_model.save(mod, str(tmp_path / "sm"), signatures={"serving_default": mod.serve})
    predict, desc = load_predictor(tmp_path / "sm")
    x = np.random.default_rng(0).random((2, 128, 128, 3)).astype(np.float32)
    np.testing.assert_allclose(predict(x), 0.5 * x, rtol=1e-6)
    assert "SavedModel" in desc
    with pytest.raises(ModelLoadError, match="neither a run directory"):
        load_predictor(tmp_path)
