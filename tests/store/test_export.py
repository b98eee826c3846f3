"""SavedModel export: signatures, TensorFlow-only reload in a clean process, equality, face pixels."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras  # noqa: E402


def _masked_batch(n: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random 'faces' inside an ellipse, black outside; one face pixel is pure black on purpose."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:128, 0:128] + 0.5
    mask = (((xx - 64) / 26) ** 2 + ((yy - 62) / 33) ** 2 <= 1).astype(np.float32)
    img = rng.uniform(0.05, 1.0, (n, 128, 128, 3)).astype(np.float32)
    masked = img * mask[None, ..., None]
    masked[:, 62, 64] = 0.0  # a black face pixel: only serving_with_mask keeps it as face
    return masked, np.broadcast_to(mask[None, ..., None], (n, 128, 128, 1)).copy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from facehalluc.config import load_config
    from facehalluc.store.export import export_savedmodel
    from facehalluc.models import build_cascade, build_inference_model

    keras.utils.set_random_seed(3)
    cfg = load_config("tiny")
    cascade = build_cascade(cfg)
    model = build_inference_model(cascade, cfg, all_outputs=True)
    out = export_savedmodel(model, tmp_path_factory.mktemp("export") / "sm", cfg, all_outputs=True)
    return model, cascade, cfg, out


CHILD = textwrap.dedent(r"""
    import importlib.abc, json, os, sys
    repo, sm, data, result = sys.argv[1:5]
    # drop the checkout and every entry that holds the package (the venv may live inside the checkout)
    sys.path = [p for p in sys.path if p and os.path.realpath(p) != os.path.realpath(repo)
                and not os.path.isdir(os.path.join(p, "facehalluc"))]

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "facehalluc" or name.startswith("facehalluc."):
                raise ImportError("facehalluc must not be importable here")
            return None

    sys.meta_path.insert(0, Block())
    import numpy as np
    import tensorflow as tf
    d = np.load(data)
    m = tf.saved_model.load(sm)
    sigs = m.signatures
    out = {}
    for k, v in sigs["serving_default"](masked=tf.constant(d["masked"])).items():
        out["default_" + k] = v.numpy()
    for k, v in sigs["serving_uint8"](masked=tf.constant(d["masked_u8"])).items():
        out["uint8_" + k] = v.numpy()
    for k, v in sigs["serving_with_mask"](masked=tf.constant(d["masked"]), mask=tf.constant(d["mask"])).items():
        out["mask_" + k] = v.numpy()
    np.savez(result, **out)
    info = {"signatures": sorted(sigs),
            "inputs": {s: {k: [v.dtype.name, v.shape.as_list()]
                           for k, v in sigs[s].structured_input_signature[1].items()} for s in sigs},
            "facehalluc_loaded": any(k.startswith("facehalluc") for k in sys.modules)}
    print("INFO" + json.dumps(info))
""")


@pytest.mark.slow
def test_savedmodel_runs_without_facehalluc_and_matches_keras(exported, tmp_path, repo_root):
    model, cascade, cfg, sm = exported
    masked, mask = _masked_batch()
    masked_u8 = np.round(masked * 255).astype(np.uint8)
    np.savez(tmp_path / "in.npz", masked=masked, mask=mask, masked_u8=masked_u8)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-I", str(script), str(repo_root), str(sm), str(tmp_path / "in.npz"),
                           str(tmp_path / "out.npz")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("INFO"))[4:])
    assert info["facehalluc_loaded"] is False
    assert info["signatures"] == ["serving_default", "serving_uint8", "serving_with_mask"]
    assert info["inputs"]["serving_default"] == {"masked": ["float32", [None, 128, 128, 3]]}
    assert info["inputs"]["serving_uint8"] == {"masked": ["uint8", [None, 128, 128, 3]]}
    assert info["inputs"]["serving_with_mask"] == {"masked": ["float32", [None, 128, 128, 3]],
                                                   "mask": ["float32", [None, 128, 128, 1]]}
    got = np.load(tmp_path / "out.npz")
    ref = model(masked)
    for r in (8, 16, 32, 64, 128):
        np.testing.assert_allclose(got[f"default_out_{r}"], np.asarray(ref[f"out_{r}"]), atol=1e-5, rtol=0)
    # face pixels of out_128 are the input face pixels, bit for bit
    derived = masked.max(-1) > 0
    assert np.array_equal(got["default_out_128"][derived], masked[derived])
    # uint8 signature: face pixels round-trip exactly; the rest is the float output quantised
    derived_u8 = masked_u8.max(-1) > 0
    assert got["uint8_out_128"].dtype == np.uint8
    assert np.array_equal(got["uint8_out_128"][derived_u8], masked_u8[derived_u8])
    ref_u8 = np.asarray(model(masked_u8.astype(np.float32) / 255.0)["out_128"])
    assert np.abs(got["uint8_out_128"].astype(int) - np.round(ref_u8 * 255).astype(int)).max() <= 1
    # with an explicit mask the pure-black face pixel counts as face (kept black)
    given = mask[..., 0] > 0.5
    assert np.array_equal(got["mask_out_128"][given], masked[given])
    assert got["default_out_128"][:, 62, 64].max() > 0  # derived mask treats it as background
    from facehalluc.models import build_inference_model
    with_mask = build_inference_model(cascade, cfg, with_mask_input=True, all_outputs=True)
    ref_m = with_mask([masked, mask])
    for r in (8, 16, 32, 64, 128):
        np.testing.assert_allclose(got[f"mask_out_{r}"], np.asarray(ref_m[f"out_{r}"]), atol=1e-5, rtol=0)


def test_export_metadata_and_refusal(exported, tmp_path):
    from facehalluc.store.export import ExportError, export_savedmodel

    model, _, cfg, sm = exported
    meta = json.loads((sm / "facehalluc_export.json").read_text())
    assert meta["outputs"] == ["out_128", "out_8", "out_16", "out_32", "out_64"]
    assert set(meta["signatures"]) == {"serving_default", "serving_uint8", "serving_with_mask"}
    assert (sm / "facehalluc_config.yaml").read_text().startswith("name: tiny")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "precious.txt").write_text("keep")
    for overwrite in (False, True):
        with pytest.raises(ExportError, match="refusing to overwrite"):
            export_savedmodel(model, busy, cfg, overwrite=overwrite)
    assert (busy / "precious.txt").exists()
    with pytest.raises(ExportError, match="already there"):
        export_savedmodel(model, sm, cfg)


def test_progan_with_mask_fallback_composites_given_mask():
    """ProGAN inference model (block_128 alone): the mask signature composites the given mask."""
    from facehalluc.config import load_config
    from facehalluc.store.export import find_cascade, inference_fns
    from facehalluc.models import build_generator_block
    from facehalluc.train import build_progan_inference_model

    cfg = load_config("tiny", ["train.regime=progan"])
    keras.utils.set_random_seed(1)
    model = build_progan_inference_model(build_generator_block(128, cfg), cfg)
    assert find_cascade(model) is None
    default_fn, with_mask_fn, names = inference_fns(model, cfg, all_outputs=True)
    assert names == ["out_128"]
    masked, mask = _masked_batch(2, seed=5)
    noisy = masked + (1 - mask) * 0.3  # non-zero pixels outside the given mask are ignored
    out = np.asarray(with_mask_fn(noisy, mask)["out_128"])
    ref = np.asarray(default_fn(masked)["out_128"])
    given = mask[..., 0] > 0.5
    assert np.array_equal(out[given], masked[given])
    np.testing.assert_allclose(out[~given], ref[~given], atol=1e-6)
