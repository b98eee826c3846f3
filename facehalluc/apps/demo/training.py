"""``--train``: train a small model through :func:`facehalluc.train.run.train`, hallucinate held-out faces,
export and check (:mod:`facehalluc.apps.demo`)."""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...config import Config, load_config
from ...utils.image import contact_sheet, to_float, write_image
from .data import build_bundled_dataset, build_folder_dataset, bundled_face_photos

log = logging.getLogger("facehalluc.demo")


# ------------------------------------------------------------------------------------------ train
def demo_config(name: str, overrides: Sequence[str], batch_size: int | None) -> tuple[Config, dict]:
    """The training demo's config; loss terms without converted weights are switched off by the
    preset's ``weights.on_missing`` (``tiny``: disable), reported here as ``weights_available``."""
    from ...losses import disable_missing_loss_terms, loss_weights_available

    extra = [f"train.batch_size={batch_size}"] if batch_size else []
    cfg = load_config(name, extra + list(overrides))
    avail = loss_weights_available(cfg)
    cfg, switched_off = disable_missing_loss_terms(cfg)  # the one place that applies weights.on_missing
    for line in switched_off:
        log.info("%s", line)
    return cfg, {"weights_available": avail, "auto_overrides": extra, "user_overrides": list(overrides),
                 "switched_off": switched_off}


def train(cfg: Config, h5: Path, run_dir: Path, steps: int, eager: bool = False) -> dict[str, Any]:
    """``steps`` generator steps on the train split through :func:`facehalluc.train.run.train` (the one
    training driver; no validation pass), which writes the run directory; returns the per-chunk losses."""
    import keras

    from ...data import make_dataset
    from ...train.run import DataSource
    from ...train.run import train as run_training

    # fit() in up to 10 "epochs" so the history holds per-chunk means (Keras resets the metric
    # trackers every epoch): the first and last chunk show the trend.
    chunks = max(d for d in range(1, 11) if steps % d == 0)
    t0 = time.perf_counter()
    history: list[dict[str, float]] = []

    class _Log(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            history.append({k: float(v) for k, v in logs.items()})
            log.info("steps %d/%d  mean over the last %d: g_total %.4f  d_total %.4f  b128_pixel %.4f  (%.1f s)",
                     (epoch + 1) * steps // chunks, steps, steps // chunks,
                     float(logs.get("g_total", float("nan"))), float(logs.get("d_total", float("nan"))),
                     float(logs.get("b128_pixel", float("nan"))), time.perf_counter() - t0)

    source = DataSource(lambda seed: make_dataset(h5, cfg, split="train", repeat=True, seed=seed),
                        steps_per_epoch=steps // chunks, description=f"{h5} (train)")
    run_training(cfg, run_dir, source, epochs=chunks, steps_per_epoch=steps // chunks, verbose=0,
                 extra_callbacks=[_Log()], run_eagerly=eager)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "steps": steps, "steps_per_chunk": steps // chunks,
            "first": history[0], "final": history[-1]}


# ------------------------------------------------------------------------------------------- main
def _val_arrays(h5: Path):
    from ...data import read_arrays

    val = read_arrays(h5, "val")
    if len(val) == 0:
        log.warning("%s has no validation faces; showing training faces instead", h5)
        val = read_arrays(h5, "train")
    return val


def export_and_check(model, cfg: Config, masked: np.ndarray, sm_dir: Path, timings: dict[str, float]) -> dict[str, Any]:
    """Exports ``model`` as a SavedModel, reloads it with ``tf.saved_model.load`` and compares its
    outputs on ``masked`` with the Keras model's (max |difference| per output, face pixels exact)."""
    import tensorflow as tf

    from ...store.export import export_savedmodel

    t = time.perf_counter()
    sm_dir = export_savedmodel(model, sm_dir, cfg, all_outputs=True, overwrite=True)
    timings["export"] = time.perf_counter() - t
    t = time.perf_counter()
    loaded = tf.saved_model.load(str(sm_dir))
    sm_out = {k: v.numpy() for k, v in loaded.signatures["serving_default"](masked=tf.constant(masked)).items()}
    keras_out = {k: np.asarray(v) for k, v in model(masked).items()}
    diffs = {k: float(np.abs(sm_out[k] - keras_out[k]).max()) for k in keras_out}
    derived = np.broadcast_to(masked.max(-1, keepdims=True) > 0, masked.shape)
    timings["reload_and_check"] = time.perf_counter() - t
    return {
        "dir": str(sm_dir), "signatures": sorted(loaded.signatures),
        "max_abs_diff_vs_keras": diffs, "equal_within_1e-5": all(d <= 1e-5 for d in diffs.values()),
        "face_pixels_exact": bool(np.array_equal(sm_out["out_128"][derived], masked[derived])),
    }


def run_training_demo(out: Path, data: Path | None = None, limit: int | None = None, steps: int = 300,
                      config: str = "tiny", overrides: Sequence[str] = (), batch_size: int | None = None,
                      n_train: int = 48, n_val: int = 4, max_show: int = 8, eager: bool = False,
                      seed: int = 0) -> dict[str, Any]:
    """``--train``: the five training-demo stages (module docstring); returns the report dict."""
    from ...infer import from_keras
    from ...store.open import load_generator

    t_all = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    cfg, cfg_info = demo_config(config, overrides, batch_size)
    report: dict[str, Any] = {"config": cfg.name, **cfg_info, "steps": steps, "timings_s": {}}
    # 1. data
    t = time.perf_counter()
    h5 = out / "data" / "faces.h5"
    if data is not None:
        build_folder_dataset(data, h5, cfg, limit)
        report["data"] = {"source": str(data), "limit": limit, "held_out": "unseen identities"}
    else:
        build_bundled_dataset(h5, cfg, n_train=n_train, n_val=n_val, seed=seed)
        report["data"] = {"source": [str(p) for p in bundled_face_photos()],
                          "held_out": "unseen augmentations of the bundled photos (same people)"}
    from ...data import count_examples

    report["data"].update(n_train=count_examples(h5, "train"), n_val=count_examples(h5, "val"))
    report["timings_s"]["data"] = time.perf_counter() - t
    if report["data"]["n_train"] == 0:
        raise RuntimeError(f"{h5}: no training faces could be prepared")
    # 2. train
    run_dir = out / "run"
    if run_dir.is_dir():  # the demo's own folder from an earlier run: start afresh, as the data file does
        shutil.rmtree(run_dir)
    tr = train(cfg, h5, run_dir, steps, eager=eager)
    report["train"] = {"steps": steps, "batch_size": cfg.train.batch_size, "steps_per_chunk": tr["steps_per_chunk"],
                       "losses_first_chunk": tr["first"], "losses_final": tr["final"]}
    report["timings_s"]["train"] = tr["seconds"]
    # 3. hallucinate held-out faces (run directory -> Keras inference model)
    t = time.perf_counter()
    model, run_cfg = load_generator(run_dir)
    hall = from_keras(model, run_cfg, run_dir)
    val = _val_arrays(h5)
    n = min(max_show, len(val))
    masked = to_float(val.masked[:n])
    mask = val.mask[:n].astype(np.float32)
    aligned = to_float(val.aligned[:n])
    outs = hall.run(masked, mask)
    report["timings_s"]["hallucinate"] = time.perf_counter() - t
    bg = mask[..., None] < 0.5
    bg3 = np.broadcast_to(bg, aligned.shape)
    report["heldout"] = {
        "n": n,
        "background_l1": float(np.abs(outs["out_128"] - aligned)[bg3].mean()),
        "background_l1_of_black": float(np.abs(aligned)[bg3].mean()),
        "face_pixels_exact": bool(np.array_equal(outs["out_128"][~bg3], masked[~bg3])),
    }
    stage_keys = [k for k in sorted(outs, key=lambda k: int(k.split("_")[-1])) if k != "out_128"]
    rows = [[aligned[i], masked[i]] + [outs[k][i] for k in stage_keys] + [outs["out_128"][i]] for i in range(n)]
    labels = ["original", "masked (input)"] + [f"block_{k.split('_')[-1]}" for k in stage_keys] + ["out_128"]
    sheet = write_image(out / "contact_sheet.png", contact_sheet(rows, labels))
    for i in range(n):
        write_image(out / "heldout" / f"{i:02d}_out.png", outs["out_128"][i])
    # 4. export, reload with TensorFlow only, compare
    report["savedmodel"] = export_and_check(model, run_cfg, masked, out / "savedmodel", report["timings_s"])
    report["timings_s"]["total"] = time.perf_counter() - t_all
    report["outputs"] = {"contact_sheet": str(sheet), "run_dir": str(run_dir), "report_md": str(out / "report.md")}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(_markdown(report))
    return report


def _markdown(r: dict[str, Any]) -> str:
    tm = r["timings_s"]
    losses = r["train"]["losses_final"]
    first = r["train"]["losses_first_chunk"]
    keys = [k for k in ("g_total", "d_total", "b128_pixel", "b128_adv", "b128_pc", "b128_id", "b128_total")
            if k in losses]
    lines = [
        "# facehalluc demo report", "",
        f"- config: `{r['config']}`, steps: {r['steps']}, batch size: {r['train']['batch_size']}",
        f"- overrides: {r['auto_overrides'] + r['user_overrides'] or 'none'} "
        f"(converted loss weights available: {r['weights_available']})",
        f"- data: {r['data']['n_train']} train / {r['data']['n_val']} val faces; held-out = {r['data']['held_out']}",
        f"- training losses, mean over the first / last {r['train']['steps_per_chunk']} steps: "
        + ", ".join(f"{k} {first[k]:.4f} / {losses[k]:.4f}" for k in keys),
        f"- held-out background L1 to the original: {r['heldout']['background_l1']:.4f} "
        f"(black background would be {r['heldout']['background_l1_of_black']:.4f}); "
        f"face pixels exact: {r['heldout']['face_pixels_exact']}",
        f"- SavedModel `{r['savedmodel']['dir']}` signatures {r['savedmodel']['signatures']}: max |SavedModel - Keras| = "
        f"{max(r['savedmodel']['max_abs_diff_vs_keras'].values()):.2e} "
        f"(equal within 1e-5: {r['savedmodel']['equal_within_1e-5']}), "
        f"face pixels exact: {r['savedmodel']['face_pixels_exact']}",
        "- timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in tm.items()), "",
        "![contact sheet](contact_sheet.png)", "",
        "Columns: original aligned face, masked input, composited outputs of block_8 ... block_64 "
        "(nearest-neighbour enlarged), final 128x128 output.", "",
    ]
    return "\n".join(lines)
