"""The default demo: photos -> the shipped (or any) generator -> paste-back -> contact sheet
(:mod:`facehalluc.apps.demo`)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...utils.image import contact_sheet, read_image, to_float, write_image
from .data import bundled_face_photos
from .training import export_and_check


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
