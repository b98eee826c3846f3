#!/usr/bin/env python
"""Preprocessing speed per worker process: images/s on the first N photos of a folder (default LFW).

    python benchmarks/bench_preprocess.py [--src ../shared/data/lfw] [--n 200] [--json OUT.json] [overrides]

Runs in this process (one worker), after a warm-up photo, and reports the time of each stage:
decode (Pillow), detect (dlib HOG), landmarks (68-point predictor), align + mask (OpenCV).
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    from facehalluc.config import load_config
    from facehalluc.data.prepare import discover
    from facehalluc.preprocess import FacePreprocessor, NoFaceError, PreprocessError, load_rgb

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", default=str(REPO.parent / "shared" / "data" / "lfw"))
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--config", default="paper")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("overrides", nargs="*", help="config overrides, e.g. preprocess.detector_upsample=0")
    args = p.parse_args()
    if not Path(args.src).is_dir():
        print(f"{args.src}: not found (pass --src FOLDER)", file=sys.stderr)
        return 2
    cfg = load_config(args.config, args.overrides)
    t = time.perf_counter()
    pre = FacePreprocessor(cfg.preprocess)
    t_load = time.perf_counter() - t
    files = [Path(args.src) / f.rel for f in discover(args.src, args.n + 1)]
    pre.process(files[0])  # warm-up
    stages = {"decode": 0.0, "detect": 0.0, "landmarks": 0.0, "align_mask": 0.0}
    n_ok = n_skip = 0
    t_all = time.perf_counter()
    for path in files[1:]:
        t0 = time.perf_counter()
        try:
            rgb, where = load_rgb(path)
        except PreprocessError:
            n_skip += 1
            continue
        t1 = time.perf_counter()
        try:
            boxes, _ = pre.detect(rgb, where)
        except NoFaceError:
            boxes = []
        t2 = time.perf_counter()
        stages["decode"] += t1 - t0
        stages["detect"] += t2 - t1
        if not boxes:
            n_skip += 1
            continue
        pts = pre.landmarks(rgb, boxes[0])
        t3 = time.perf_counter()
        aligned, mask, *_ = pre.align(rgb, pts, where)
        _ = aligned * mask[..., None]
        t4 = time.perf_counter()
        stages["landmarks"] += t3 - t2
        stages["align_mask"] += t4 - t3
        n_ok += 1
    wall = time.perf_counter() - t_all
    n = len(files) - 1
    res = {"src": args.src, "images": n, "faces": n_ok, "skipped": n_skip, "wall_s": round(wall, 3),
           "images_per_s_per_worker": round(n / wall, 2), "model_load_s": round(t_load, 3),
           "ms_per_image": {k: round(1000 * v / n, 2) for k, v in stages.items()},
           "detector_upsample": cfg.preprocess.detector_upsample}
    print(f"{n} images ({n_ok} faces, {n_skip} skipped) in {wall:.2f} s: "
          f"{res['images_per_s_per_worker']} images/s per worker; model load {t_load:.2f} s")
    print("ms per image: " + ", ".join(f"{k} {v}" for k, v in res["ms_per_image"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
