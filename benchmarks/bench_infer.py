#!/usr/bin/env python
"""Inference throughput: Keras model vs exported SavedModel, batch 1 and 32, and the fraction of the
machine's matmul GFLOP/s that the generator achieves.

    python benchmarks/bench_infer.py --config tiny
    python benchmarks/bench_infer.py --config paper --batches 1 32 --seconds 10 --json out.json

Random weights (speed does not depend on them).  FLOPs per image: ``facehalluc.models.model_flops``
(analytic, convolutions and dense layers, 2 FLOPs per multiply-add).  The matmul reference is a
float32 ``tf.matmul`` of two N x N matrices in a ``tf.function``, measured in the same process, so
the ratio is comparable across machines and loads.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _timeit(fn, min_seconds: float, min_iters: int = 3) -> float:
    """Seconds per call (median of calls, after one warm-up call)."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def matmul_gflops(n: int, min_seconds: float) -> float:
    import tensorflow as tf

    a = tf.random.uniform((n, n), dtype=tf.float32)
    b = tf.random.uniform((n, n), dtype=tf.float32)
    f = tf.function(lambda: tf.matmul(a, b))
    sec = _timeit(lambda: f().numpy(), min_seconds)
    return 2.0 * n ** 3 / sec / 1e9


def run(config: str, batches: list[int], seconds: float, matmul_n: int, overrides: list[str]) -> dict:
    import keras
    import tensorflow as tf

    from facehalluc.config import load_config
    from facehalluc.export import export_savedmodel
    from facehalluc.models import build_cascade, build_inference_model, model_flops
    from facehalluc.utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    cfg = load_config(config, overrides)
    keras.utils.set_random_seed(0)
    model = build_inference_model(build_cascade(cfg), cfg, all_outputs=False)
    flops = model_flops(model)
    res = {"config": cfg.name, "overrides": overrides, "gflops_per_image": flops / 1e9,
           "params": int(model.count_params()), "machine": platform.processor() or platform.machine(),
           "cpu_count": os.cpu_count(), "tensorflow": tf.__version__, "rows": []}
    res["matmul_gflops"] = matmul_gflops(matmul_n, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        export_savedmodel(model, Path(tmp) / "sm", cfg)
        res["export_seconds"] = time.perf_counter() - t
        loaded = tf.saved_model.load(str(Path(tmp) / "sm"))
        serve = loaded.signatures["serving_default"]
        rng = np.random.default_rng(0)
        for b in batches:
            x = rng.uniform(0, 1, (b, 128, 128, 3)).astype(np.float32)
            x[:, :, :40] = 0.0
            xt = tf.constant(x)
            for path, fn in (("keras predict_on_batch", lambda: model.predict_on_batch(x)),
                             ("SavedModel serving_default", lambda: serve(masked=xt)["out_128"].numpy())):
                sec = _timeit(fn, seconds)
                ips = b / sec
                gfs = flops * ips / 1e9
                res["rows"].append({"path": path, "batch": b, "ms_per_batch": sec * 1e3, "images_per_s": ips,
                                    "achieved_gflops": gfs, "fraction_of_matmul": gfs / res["matmul_gflops"]})
        res["matmul_gflops_after"] = matmul_gflops(matmul_n, seconds)
    return res


def markdown(res: dict) -> str:
    lines = [f"config `{res['config']}`: {res['gflops_per_image']:.3f} GFLOPs/image, {res['params']:,} parameters; "
             f"tf.matmul {res['matmul_gflops']:.1f} GFLOP/s before, {res['matmul_gflops_after']:.1f} after; "
             f"export {res['export_seconds']:.1f} s", "",
             "| path | batch | ms / batch | images / s | achieved GFLOP/s | / matmul GFLOP/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        lines.append(f"| {r['path']} | {r['batch']} | {r['ms_per_batch']:.1f} | {r['images_per_s']:.1f} | "
                     f"{r['achieved_gflops']:.1f} | {r['fraction_of_matmul']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="tiny")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    p.add_argument("--seconds", type=float, default=5.0, help="minimum timing per measurement")
    p.add_argument("--matmul-n", type=int, default=2048)
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    args = p.parse_args(argv)
    res = run(args.config, args.batches, args.seconds, args.matmul_n, args.overrides)
    print(markdown(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
