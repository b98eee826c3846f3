#!/usr/bin/env python
"""Preprocessing speed per worker process, before/after the detector retry, on the same N photos.

    python benchmarks/bench_preprocess.py [--src ../shared/data/lfw] [--n 200] [--json OUT.json] [overrides]

Runs in this process (one worker), after a warm-up photo.  Every photo goes through two pipelines
that share the dlib models, alternating which goes first so both see the same machine load:

* ``before``: one HOG pass at ``preprocess.detector_upsample`` (``detector_upsample_retry=false``,
  the behaviour before the retry existed);
* ``after``: the configuration as given (default: a pass at upsample 0, and a second one at
  ``detector_upsample`` only when the first finds no face scoring >= ``detector_first_pass_min_score``).

For each it reports wall images/s, CPU ms per image (``time.process_time``, i.e. what one core
spends, whatever else runs on the machine), CPU ms per stage — decode (Pillow), detect (dlib HOG),
landmarks (68-point predictor), align + mask (OpenCV) — faces found and how many needed the retry.
Then it compares the two on photos where both found a face: same face (box IoU >= 0.5), eye-centre
displacement (photo pixels, and crop pixels through the ``before`` transform), mean landmark
displacement in the aligned crop and mean absolute difference of the aligned crops (0..255).
"""
import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
STAGES = ("decode", "detect", "landmarks", "align_mask")


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _run_one(pre, path, stats):
    """One photo through ``pre`` stage by stage; adds wall and CPU seconds to ``stats``."""
    from facehalluc.preprocess import NoFaceError, PreprocessError, load_rgb

    clock = (time.perf_counter, time.process_time)
    t = [[c() for c in clock]]
    try:
        rgb, where = load_rgb(path)
    except PreprocessError:
        stats["skipped"] += 1
        return None
    t.append([c() for c in clock])
    try:
        boxes, _, up = pre.detect_with_pass(rgb, where)
    except NoFaceError:
        boxes, up = [], -1
    t.append([c() for c in clock])
    result = None
    if boxes:
        pts = pre.landmarks(rgb, boxes[0])
        t.append([c() for c in clock])
        aligned, mask, apts, m, _ = pre.align(rgb, pts, where)
        _ = aligned * mask[..., None]
        t.append([c() for c in clock])
        result = {"box": boxes[0], "pts": pts, "aligned": aligned, "apts": apts, "m": m, "up": up}
        stats["faces"] += 1
        stats["retried"] += int(len(pre.detector_passes()) > 1 and up != pre.detector_passes()[0])
    else:
        stats["skipped"] += 1
    for k, (a, b) in enumerate(zip(t[:-1], t[1:])):
        stats["wall"][STAGES[k]] += b[0] - a[0]
        stats["cpu"][STAGES[k]] += b[1] - a[1]
    return result


def main() -> int:
    from facehalluc.config import load_config
    from facehalluc.data.prepare import discover
    from facehalluc.preprocess import FacePreprocessor, eye_centres, transform_points

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", default=str(REPO.parent / "shared" / "data" / "lfw"))
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--config", default="paper")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("overrides", nargs="*", help="config overrides of the 'after' pipeline, e.g. "
                   "preprocess.detector_upsample=2")
    args = p.parse_args()
    if not Path(args.src).is_dir():
        print(f"{args.src}: not found (pass --src FOLDER)", file=sys.stderr)
        return 2
    cfg = load_config(args.config, args.overrides)
    before_cfg = dataclasses.replace(cfg.preprocess, detector_upsample_retry=False)
    t = time.perf_counter()
    after = FacePreprocessor(cfg.preprocess)
    t_load = time.perf_counter() - t
    before = FacePreprocessor(before_cfg, models_from=after)
    files = [Path(args.src) / f.rel for f in discover(args.src, args.n + 1)]
    after.process(files[0])  # warm-up
    before.process(files[0])
    pipes = {"before": before, "after": after}
    stats = {k: {"faces": 0, "skipped": 0, "retried": 0, "wall": dict.fromkeys(STAGES, 0.0),
                 "cpu": dict.fromkeys(STAGES, 0.0)} for k in pipes}
    pairs = []
    for i, path in enumerate(files[1:]):
        order = ("before", "after") if i % 2 == 0 else ("after", "before")
        res = {k: _run_one(pipes[k], path, stats[k]) for k in order}
        pairs.append((path, res["before"], res["after"]))
    n = len(files) - 1
    out = {"src": args.src, "images": n, "model_load_s": round(t_load, 3),
           "passes": {k: list(v.detector_passes()) for k, v in pipes.items()}}
    for k, s in stats.items():
        wall, cpu = sum(s["wall"].values()), sum(s["cpu"].values())
        out[k] = {"faces": s["faces"], "skipped": s["skipped"], "retried": s["retried"],
                  "wall_s": round(wall, 3), "images_per_s_wall": round(n / wall, 2),
                  "cpu_ms_per_image": round(1000 * cpu / n, 2), "images_per_cpu_s": round(n / cpu, 2),
                  "cpu_ms_per_image_by_stage": {st: round(1000 * v / n, 2) for st, v in s["cpu"].items()}}
    both = [(b, a) for _, b, a in pairs if b is not None and a is not None]
    same = [(b, a) for b, a in both if _iou(b["box"], a["box"]) >= 0.5]
    eye_photo, eye_crop, lm_crop, pix = [], [], [], []
    for b, a in same:
        eb, ea = np.stack(eye_centres(b["pts"])), np.stack(eye_centres(a["pts"]))
        eye_photo.append(np.linalg.norm(eb - ea, axis=1).mean())
        eye_crop.append(np.linalg.norm(transform_points(b["m"], ea) - transform_points(b["m"], eb), axis=1).mean())
        lm_crop.append(np.linalg.norm(b["apts"] - a["apts"], axis=1).mean())
        pix.append(np.abs(b["aligned"].astype(int) - a["aligned"].astype(int)).mean())
    identical = sum(bool(b["box"] == a["box"]) for b, a in same)

    def q(v):
        v = np.asarray(v, np.float64)
        return {"mean": round(float(v.mean()), 3), "median": round(float(np.median(v)), 3),
                "p95": round(float(np.percentile(v, 95)), 3), "max": round(float(v.max()), 3)} if v.size else {}

    out["comparison"] = {
        "faces_in_both": len(both), "same_face": len(same), "identical_box": identical,
        "lost_by_after": [str(pth) for pth, b, a in pairs if b is not None and a is None],
        "gained_by_after": [str(pth) for pth, b, a in pairs if b is None and a is not None],
        "eye_displacement_photo_px": q(eye_photo), "eye_displacement_crop_px": q(eye_crop),
        "landmark_displacement_crop_px": q(lm_crop), "aligned_mean_abs_diff": q(pix)}
    print(f"{n} photos from {args.src}; model load {t_load:.2f} s; CPU = time.process_time of this process")
    for k in pipes:
        r = out[k]
        print(f"{k:6s} passes {out['passes'][k]}: {r['faces']} faces ({r['retried']} after a retry), "
              f"{r['images_per_s_wall']} images/s wall, {r['cpu_ms_per_image']} CPU ms/image = "
              f"{r['images_per_cpu_s']} images per CPU-second; CPU ms by stage: "
              + ", ".join(f"{st} {v}" for st, v in r["cpu_ms_per_image_by_stage"].items()))
    c = out["comparison"]
    print(f"faces in both {c['faces_in_both']}, same face {c['same_face']} (identical box {identical}); "
          f"lost {len(c['lost_by_after'])}, gained {len(c['gained_by_after'])}")
    for key in ("eye_displacement_photo_px", "eye_displacement_crop_px", "landmark_displacement_crop_px",
                "aligned_mean_abs_diff"):
        print(f"{key}: {c[key]}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
