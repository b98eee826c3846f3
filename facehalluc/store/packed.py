"""The generator shipped inside the package (``--model default``; see ``docs/model_card.md``).

The shipped model lives in ``facehalluc/store/shipped/`` (package data):

* ``config.yaml`` — the training configuration (preset ``shipped``), as in a run directory;
* ``generator.fp16.npz`` — every generator variable as float16, keyed by its Keras variable path
  (read with ``numpy.load(allow_pickle=False)``: no code is executed);
* ``manifest.json`` — the npz file's sha256 (checked before every load), its size, and the provenance
  (training command, steps, images seen, wall time, fp16-vs-fp32 output difference);
* ``train_median.png`` — the per-pixel median of the training split's aligned faces (the ``median_fill``
  baseline of docs/results.md for this model's training data; used by the tests and the model card).

That folder is a valid ``--model`` value everywhere a run directory is accepted
(:func:`facehalluc.store.open_model` recognises it by its manifest); the word ``default`` names it:
:func:`facehalluc.store.spec.resolve_model` maps ``None`` / ``"default"`` to it.  :func:`pack` writes such a folder from a
training run (``python -m facehalluc.pretrained pack``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import load_config
from ..weights import sha256_file
from .spec import (CONFIG_NAME, DEFAULT_NAME, FORMAT, MANIFEST_NAME, MEDIAN_NAME, WEIGHTS_NAME,  # noqa: F401
                   ShippedModelError, is_packed_dir, resolve_model, shipped_dir)


def read_manifest(path: str | Path | None = None) -> dict[str, Any]:
    d = Path(path) if path is not None else shipped_dir()
    return json.loads((d / MANIFEST_NAME).read_text(encoding="utf-8"))


def read_packed_arrays(path: str | Path | None = None) -> tuple[dict[str, np.ndarray], Any, dict[str, Any]]:
    """(float16 arrays keyed by Keras variable path, config, manifest) of a packed folder (default: the
    shipped one), after its sha256 check."""
    d = Path(path) if path is not None else resolve_model(DEFAULT_NAME)
    try:
        manifest = read_manifest(d)
    except (OSError, ValueError) as e:
        raise ShippedModelError(f"{d / MANIFEST_NAME}: unreadable manifest ({e})") from e
    wpath = d / manifest.get("weights", WEIGHTS_NAME)
    if not wpath.is_file():
        raise ShippedModelError(f"{wpath}: weights file missing")
    digest = sha256_file(wpath)
    if digest != manifest.get("sha256"):
        raise ShippedModelError(f"{wpath}: sha256 {digest} does not match the manifest's "
                                f"{manifest.get('sha256')} (corrupt or replaced file; reinstall facehalluc)")
    cfg = load_config(d / CONFIG_NAME)
    with np.load(wpath, allow_pickle=False) as arrays:
        stored = {k: arrays[k] for k in arrays.files}
    return stored, cfg, manifest


def assign_arrays(model, stored: dict[str, np.ndarray], where: str | Path) -> None:
    """Assigns ``stored`` (keyed by variable path) to ``model``'s variables: same names, same shapes, or
    :class:`ShippedModelError` naming ``where``."""
    want = {v.path: v for v in model.weights}
    if set(stored) != set(want):
        missing = sorted(set(want) - set(stored))[:3]
        extra = sorted(set(stored) - set(want))[:3]
        raise ShippedModelError(f"{where}: variables do not match the model "
                                f"(missing e.g. {missing}, unexpected e.g. {extra})")
    for name, var in want.items():
        a = stored[name]
        if tuple(a.shape) != tuple(var.shape):
            raise ShippedModelError(f"{where}: {name} has shape {a.shape}, the model {tuple(var.shape)}")
        var.assign(a.astype(np.float32))


def load_packed_generator(path: str | Path | None = None):
    """(inference model, config) from a packed folder (default: the shipped one), after its sha256 check.

    The float16 arrays are cast to float32 variables; the model is the same inference model
    :func:`facehalluc.store.run_dir.load_run_dir` returns for a run directory.
    """
    from .build import build_generator, inference_model

    d = Path(path) if path is not None else resolve_model(DEFAULT_NAME)
    stored, cfg, manifest = read_packed_arrays(d)
    generator = build_generator(cfg)
    assign_arrays(generator, stored, d / manifest.get("weights", WEIGHTS_NAME))
    return inference_model(generator, cfg), cfg


def read_train_median(path: str | Path | None = None) -> np.ndarray:
    """The packed model's training-split median face, (128, 128, 3) uint8 (sha256-checked)."""
    from ..utils.image import read_image

    d = Path(path) if path is not None else resolve_model(DEFAULT_NAME)
    manifest = read_manifest(d)
    p = d / MEDIAN_NAME
    if "train_median_sha256" not in manifest or not p.is_file():
        raise ShippedModelError(f"{d}: no training-median image was packed with this model")
    if sha256_file(p) != manifest["train_median_sha256"]:
        raise ShippedModelError(f"{p}: sha256 does not match the manifest")
    return read_image(p)


def pack(run_dir: str | Path, out_dir: str | Path, *, provenance: dict[str, Any] | None = None,
         check_faces: np.ndarray | None = None, tolerance: float = 1.0 / 255.0,
         train_median: np.ndarray | None = None) -> dict[str, Any]:
    """Writes ``out_dir`` (config.yaml, generator.fp16.npz, manifest.json) from a training run directory.

    ``train_median``: (128, 128, 3) median face of the training split (uint8 after rounding), stored as
    ``train_median.png`` with its sha256 in the manifest.

    ``check_faces``: (N, 128, 128, 3) masked faces in [0, 1]; the float16 model's ``out_128`` must equal
    the float32 model's to ``tolerance`` (default 1/255, one 8-bit step) on every pixel, else
    :class:`ShippedModelError` and nothing is written.  Returns the manifest.
    """
    import keras

    from ..utils.atomic import atomic_path, atomic_write_text
    from .build import build_generator
    from .run_dir import load_run_dir

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    cfg = load_config(run_dir / "config.yaml")
    generator = build_generator(cfg)
    generator.load_weights(str(run_dir / "generator.weights.h5"))
    arrays = {v.path: np.asarray(keras.ops.convert_to_numpy(v.value)) for v in generator.weights}
    half = {k: a.astype(np.float16) for k, a in arrays.items()}
    overflow = [k for k, a in half.items() if not np.all(np.isfinite(a))]
    if overflow:
        raise ShippedModelError(f"float16 overflows in {overflow[:3]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    wpath = out_dir / WEIGHTS_NAME
    with atomic_path(wpath) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **half)
    atomic_write_text(out_dir / CONFIG_NAME, cfg.to_yaml())
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "weights": WEIGHTS_NAME,
        "sha256": sha256_file(wpath),
        "bytes": wpath.stat().st_size,
        "parameters": int(sum(a.size for a in arrays.values())),
        "config": cfg.name,
    }
    if train_median is not None:
        from ..utils.image import to_uint8, write_image

        mp = write_image(out_dir / MEDIAN_NAME, to_uint8(train_median, peak=255.0), fsync=True)
        manifest["train_median_sha256"] = sha256_file(mp)
    if check_faces is not None:
        fp32, _ = load_run_dir(run_dir)
        atomic_write_text(out_dir / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
        fp16, _ = load_packed_generator(out_dir)
        diffs = []
        for i in range(0, len(check_faces), 16):
            x = np.asarray(check_faces[i:i + 16], np.float32)
            a = np.asarray(fp32(x, training=False)["out_128"])
            b = np.asarray(fp16(x, training=False)["out_128"])
            diffs.append(float(np.max(np.abs(a - b))))
        worst = max(diffs)
        manifest["fp16_check"] = {"faces": int(len(check_faces)), "max_abs_diff_out_128": worst,
                                  "tolerance": tolerance}
        if worst > tolerance:
            (out_dir / MANIFEST_NAME).unlink()
            raise ShippedModelError(f"float16 weights change out_128 by {worst:.5f} > {tolerance:.5f} "
                                    f"on {len(check_faces)} faces; not packed")
    if provenance:
        manifest["provenance"] = provenance
    atomic_write_text(out_dir / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return manifest


__all__ = ["read_manifest", "read_train_median", "read_packed_arrays", "assign_arrays", "load_packed_generator",
           "pack"]
