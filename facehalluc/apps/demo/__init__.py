"""``python -m facehalluc.demo``: the whole pipeline on a fresh machine, in seconds, with no download.

Default (the shipped generator, ``docs/model_card.md``): raw face photos — the ones that ship with
installed packages (scikit-image's ``astronaut.png``, matplotlib's ``grace_hopper.jpg``), or
``--data DIR`` (``--limit N``) — are detected, aligned and masked (dlib, 68 landmarks, convex hull), the
shipped cascade hallucinates context and background, the result is pasted back into each photo, and
``OUT/contact_sheet.png`` (photo | aligned | masked input | block_8 … block_64 | out_128 | paste-back),
``OUT/report.md`` and ``OUT/report.json`` are written.  ``--model RUN_DIR|SAVEDMODEL`` uses another
generator; ``--export`` also exports it as a SavedModel, reloads it with TensorFlow alone and compares.

``--train`` (minutes) trains a model first, as the demo did before a generator shipped:

1. **Data.** Without ``--data``: the bundled photos, each augmented into many photos (random similarity
   warp, mirroring, colour jitter) and run through the real preprocessor.  Only two photos ship, so the
   held-out faces are *unseen augmentations* of the same two people, not unseen identities.  With
   ``--data DIR`` (e.g. ``../shared/data/lfw --limit 400``): ``facehalluc.data.prepare`` on the folder,
   with an identity-disjoint validation split (unseen people).
2. **Train** the ``tiny`` preset (widths / 16) for ``--steps`` steps with
   :class:`facehalluc.train.trainer.GANTrainer`.  Loss terms whose frozen networks have no converted
   weights are switched off (``weights.on_missing=disable``), never trained against random networks;
   ``--set`` overrides anything.
3. **Hallucinate** the held-out faces with the saved run directory (``load_generator``).
4. **Export** a SavedModel, reload it with ``tf.saved_model.load`` and compare with the Keras model.
5. Write ``OUT/contact_sheet.png``, ``OUT/report.md`` and ``OUT/report.json``.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...config import Config, load_config
from ...utils.image import contact_sheet, read_image, to_float, to_uint8, write_image

log = logging.getLogger("facehalluc.demo")


# ------------------------------------------------------------------------------------------- data
def bundled_face_photos() -> list[Path]:
    """Face photos shipped by installed packages (no download): skimage's astronaut, matplotlib's
    Grace Hopper.  Missing ones are skipped."""
    found: list[Path] = []
    try:
        import skimage

        p = Path(skimage.__file__).resolve().parent / "data" / "astronaut.png"
        if p.is_file():
            found.append(p)
    except ImportError:  # pragma: no cover
        pass
    try:
        import matplotlib

        p = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        if p.is_file():
            found.append(p)
    except ImportError:  # pragma: no cover
        pass
    return found


def augment_photo(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random variant of a uint8 RGB photo: similarity warp (rotation +-12 deg, scale 0.85-1.15,
    shift +-6 %) about the centre with reflected borders, mirroring (p = 0.5), and colour jitter
    (brightness, contrast, saturation +-15 %, per-channel gain +-6 %)."""
    import cv2

    h, w = photo.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-12, 12), rng.uniform(0.85, 1.15))
    m[:, 2] += rng.uniform(-0.06, 0.06, 2) * (w, h)
    img = cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if rng.random() < 0.5:
        img = img[:, ::-1]
    x = to_float(img)
    grey = x.mean(-1, keepdims=True)
    x = grey + (x - grey) * rng.uniform(0.85, 1.15)  # saturation
    x = x.mean() + (x - x.mean()) * rng.uniform(0.85, 1.15)  # contrast
    x = x * rng.uniform(0.85, 1.15) * rng.uniform(0.94, 1.06, 3)  # brightness, colour balance
    return to_uint8(x)


def build_bundled_dataset(out: Path, cfg: Config, n_train: int = 48, n_val: int = 4, seed: int = 0) -> Path:
    """Dataset file from the bundled photos: ``n_train`` / ``n_val`` augmented variants per photo.

    Train and val variants come from disjoint random draws; identity = the photo's stem.
    """
    from ...data import FaceArrays, write_h5
    from ...preprocess import FacePreprocessor, PreprocessError, load_rgb

    photos = bundled_face_photos()
    if not photos:
        raise FileNotFoundError("no bundled face photos found (need scikit-image or matplotlib); "
                                "pass --data DIR with face photos instead")
    pre = FacePreprocessor(cfg.preprocess)
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {k: [] for k in ("aligned", "masked", "mask", "landmarks", "source", "identity",
                                               "split")}
    for path in photos:
        photo, _ = load_rgb(str(path))
        for split, n in ((0, n_train), (1, n_val)):
            made, tries = 0, 0
            while made < n and tries < 3 * n:
                tries += 1
                variant = photo if (made == 0 and split == 1) else augment_photo(photo, rng)
                try:
                    s = pre.process(variant, name=f"{path.name}#{tries}")
                except PreprocessError:
                    continue
                for k, v in (("aligned", s.aligned), ("masked", s.masked), ("mask", s.mask),
                             ("landmarks", s.landmarks), ("source", f"{path.name}#aug{split}_{made}"),
                             ("identity", path.stem), ("split", split)):
                    parts[k].append(v)
                made += 1
    arrays = FaceArrays(aligned=np.stack(parts["aligned"]), masked=np.stack(parts["masked"]),
                        mask=np.stack(parts["mask"]).astype(np.uint8),
                        landmarks=np.stack(parts["landmarks"]).astype(np.float32),
                        source=parts["source"], identity=parts["identity"],
                        split=np.asarray(parts["split"], np.uint8))
    import yaml

    pyaml = yaml.safe_dump(dataclasses.asdict(cfg.preprocess), sort_keys=False)
    return write_h5(out, arrays, pyaml, extra_attrs={"generator": "facehalluc.demo (bundled photos, augmented)"})


def build_folder_dataset(src: Path, out: Path, cfg: Config, limit: int | None) -> Path:
    from ...data.prepare import prepare_dataset

    prepare_dataset(src, out, cfg, workers=0, limit=limit, val_fraction=0.1, overwrite=True, progress=True)
    return out


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
    """``steps`` GANTrainer steps on the train split; saves the run directory; returns the history."""
    import keras

    from ...data import make_dataset
    from ...losses import build_loss_networks
    from ...models import build_cascade
    from ...store.run_dir import save_generator
    from ...train.trainer import GANTrainer, build_discriminators, make_optimizers

    keras.utils.set_random_seed(cfg.train.seed)
    generator = build_cascade(cfg)
    trainer = GANTrainer(generator, build_discriminators(cfg.model.resolutions, cfg), cfg,
                         build_loss_networks(cfg))
    g_opt, d_opt = make_optimizers(cfg)
    trainer.compile(g_opt, d_opt, run_eagerly=eager)
    ds = make_dataset(h5, cfg, split="train", repeat=True, seed=cfg.train.seed)
    # fit() in up to 10 "epochs" so the history holds per-chunk means (Keras resets the metric
    # trackers every epoch): the first and last chunk show the trend.
    chunks = max(d for d in range(1, 11) if steps % d == 0)
    t0 = time.perf_counter()

    class _Log(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            log.info("steps %d/%d  mean over the last %d: g_total %.4f  d_total %.4f  b128_pixel %.4f  (%.1f s)",
                     (epoch + 1) * steps // chunks, steps, steps // chunks,
                     float(logs.get("g_total", float("nan"))), float(logs.get("d_total", float("nan"))),
                     float(logs.get("b128_pixel", float("nan"))), time.perf_counter() - t0)

    hist = trainer.fit(ds, steps_per_epoch=steps // chunks, epochs=chunks, verbose=0, callbacks=[_Log()])
    seconds = time.perf_counter() - t0
    save_generator(run_dir, cfg, generator)
    h = {k: [float(x) for x in v] for k, v in hist.history.items()}
    return {"seconds": seconds, "steps": steps, "steps_per_chunk": steps // chunks,
            "first": {k: v[0] for k, v in h.items()}, "final": {k: v[-1] for k, v in h.items()}}


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


def _square_thumb(photo: np.ndarray, size: int = 128) -> np.ndarray:
    """A photo letterboxed (light grey) into a size x size uint8 square, area-resampled."""
    from PIL import Image

    h, w = photo.shape[:2]
    k = size / max(h, w)
    im = Image.fromarray(np.asarray(photo, np.uint8)).resize((max(1, round(w * k)), max(1, round(h * k))),
                                                              Image.Resampling.LANCZOS)
    cell = np.full((size, size, 3), 235, np.uint8)
    y, x = (size - im.height) // 2, (size - im.width) // 2
    cell[y:y + im.height, x:x + im.width] = np.asarray(im)[..., :3]
    return cell


def run_model_demo(out: Path, model: str = "default", photos: Sequence[Path] | None = None,
                   export: bool = False) -> dict[str, Any]:
    """Default demo: photos -> detect/align/mask -> the generator -> paste-back -> contact sheet + report.

    ``photos``: files or folders (default: :func:`bundled_face_photos`).  Photos without a face are
    listed in the report and the rest goes on.  ``export``: also the SavedModel round trip.
    """
    from ...infer import InferenceOptions, load_hallucinator, run_inference
    from ...infer.engine import ModelPathError
    from ...store.packed import is_packed_dir, read_manifest

    t_all = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    photos = list(photos) if photos else bundled_face_photos()
    if not photos:
        raise FileNotFoundError("no bundled face photos found (need scikit-image or matplotlib); pass --data DIR")
    t = time.perf_counter()
    hall = load_hallucinator(model)
    timings["load_model"] = time.perf_counter() - t
    report: dict[str, Any] = {"mode": "model", "model": model, "model_path": str(hall.path),
                              "config": hall.cfg.name, "timings_s": timings}
    if hall.path is not None and is_packed_dir(hall.path):
        man = read_manifest(hall.path)
        report["model_sha256"] = man["sha256"]
    t = time.perf_counter()
    files_dir = out / "images"
    rep = run_inference(hall, photos, files_dir, InferenceOptions(save_stages=True, paste_back=True))
    timings["hallucinate"] = time.perf_counter() - t
    rows, labels = [], None
    for rec in rep.processed:
        stages = sorted((k for k in rec if k.startswith("block")), key=lambda k: int(k[5:]))
        cells = [_square_thumb(read_image(rec["input"]))]
        cells += [read_image(rec[k]) for k in ["masked"] + stages + ["output"]]
        if "pasted" in rec:
            cells.append(_square_thumb(read_image(rec["pasted"])))
        rows.append(cells)
        labels = ["photo", "masked (input)"] + [f"block_{k[5:]}" for k in stages] + ["out_128", "paste-back"]
    sheet = write_image(out / "contact_sheet.png", contact_sheet(rows, labels)) if rows else None
    report["photos"] = {"n_inputs": rep.n_inputs, "n_processed": rep.n_processed, "failures": rep.failures}
    report["outputs"] = {"contact_sheet": str(sheet) if sheet else None, "images": str(files_dir),
                         "report_md": str(out / "report.md")}
    if export and rep.processed:
        from ...store.open import load_generator

        if hall.source != "keras":
            raise ModelPathError("--export needs the shipped model or a run directory, not a SavedModel")
        keras_model, cfg = load_generator(hall.path)
        masked = np.stack([to_float(read_image(r["masked"])) for r in rep.processed])
        report["savedmodel"] = export_and_check(keras_model, cfg, masked, out / "savedmodel", timings)
    timings["total"] = time.perf_counter() - t_all
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(_model_markdown(report))
    return report


def _model_markdown(r: dict[str, Any]) -> str:
    p = r["photos"]
    lines = ["# facehalluc demo report", "",
             f"- model: `{r['model']}` ({r['model_path']}, config `{r['config']}`"
             + (f", sha256 {r['model_sha256'][:16]}…" if "model_sha256" in r else "") + ")",
             f"- photos: {p['n_processed']}/{p['n_inputs']} hallucinated"
             + "".join(f"\n  - skipped {f['input']}: {f['error']}: {f['message']}" for f in p["failures"])]
    if "savedmodel" in r:
        sm = r["savedmodel"]
        lines.append(f"- SavedModel `{sm['dir']}`: max |SavedModel - Keras| = "
                     f"{max(sm['max_abs_diff_vs_keras'].values()):.2e} (equal within 1e-5: {sm['equal_within_1e-5']})")
    lines += ["- timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["timings_s"].items()), ""]
    if r["outputs"]["contact_sheet"]:
        lines += ["![contact sheet](contact_sheet.png)", "",
                  "Columns: the photo, the masked input (everything outside the landmark hull black), the "
                  "composited outputs of block_8 ... block_64 (nearest-neighbour enlarged), the 128x128 "
                  "result and the result pasted back into the photo. Per-photo files are in `images/`.", ""]
    return "\n".join(lines)


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
