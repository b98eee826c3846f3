#!/usr/bin/env python
"""Input-pipeline speed: images/s and batches/s through facehalluc.data.make_dataset (HDF5 -> uint8 ->
float [0,1] -> random mirror -> 5-level bilinear pyramid), compared with a generator train step.

    python benchmarks/bench_data.py [--h5 work_data/lfw.h5] [--batches 100] [--config paper] [--step tiny,paper]

Without --h5 (or when the file is absent) a 512-image synthetic file is used.  ``--step`` times a
cascade forward + backward pass with an L1 loss on every block (no discriminators, no frozen loss
networks), a lower bound on the cost of a real train step: if the pipeline delivers batches much
faster than this, it is not the bottleneck.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent


def time_pipeline(h5, cfg, batches: int, cache: bool) -> dict:
    from facehalluc.data import make_dataset

    cfg.data.cache_in_memory = cache
    t = time.perf_counter()
    ds = make_dataset(h5, cfg, split="train", repeat=True, mirror=True)
    it = iter(ds)
    next(it)  # build + first batch
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(batches):
        next(it)
    wall = time.perf_counter() - t
    bs = cfg.train.batch_size
    return {"cache_in_memory": cache, "batch_size": bs, "batches": batches, "first_batch_s": round(t_first, 2),
            "batches_per_s": round(batches / wall, 1), "images_per_s": round(batches * bs / wall, 1)}


def time_step(preset: str, batch_size: int, steps: int) -> dict:
    import keras
    import tensorflow as tf

    from facehalluc.config import load_config
    from facehalluc.data.synthetic import synthetic_arrays
    from facehalluc.models import build_cascade, cascade_inputs_from_128, image_pyramid

    cfg = load_config(preset)
    model = build_cascade(cfg)
    opt = keras.optimizers.Adam(1e-4)
    a = synthetic_arrays(batch_size, 0.0)
    masked = tf.constant(a.masked, tf.float32) / 255.0
    mask = tf.constant(a.mask[..., None], tf.float32)
    full = tf.constant(a.aligned, tf.float32) / 255.0
    res = cfg.model.resolutions
    inputs = cascade_inputs_from_128(masked, mask, res)
    targets = image_pyramid(full, res)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            out = model(inputs, training=True)
            loss = tf.add_n([tf.reduce_mean(tf.abs(out[f"out_{r}"] - targets[r])) for r in res])
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    wall = time.perf_counter() - t
    return {"preset": preset, "batch_size": batch_size, "steps": steps, "steps_per_s": round(steps / wall, 3),
            "images_per_s": round(steps * batch_size / wall, 2)}


def main() -> int:
    from facehalluc.utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    from facehalluc.config import load_config
    from facehalluc.data import write_synthetic_dataset

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--h5", default=str(REPO / "work_data" / "lfw.h5"))
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--config", default="paper")
    p.add_argument("--step", default="tiny", help="comma list of presets whose train step to time ('' = none)")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--json", help="also write the figures to this JSON file")
    args = p.parse_args()
    cfg = load_config(args.config)
    h5 = Path(args.h5)
    tmp = None
    if not h5.is_file():
        tmp = tempfile.TemporaryDirectory()
        h5 = write_synthetic_dataset(Path(tmp.name) / "syn.h5", n=512, val_fraction=0.0)
        print(f"{args.h5} absent: using 512 synthetic faces")
    out = {"h5": str(h5), "config": args.config, "pipeline": [], "train_step": []}
    for cache in (True, False):
        r = time_pipeline(h5, load_config(args.config), args.batches, cache)
        out["pipeline"].append(r)
        print(f"make_dataset cache_in_memory={cache}: {r['images_per_s']} images/s, {r['batches_per_s']} "
              f"batches/s (batch {r['batch_size']}; first batch after {r['first_batch_s']} s)")
    for preset in [s for s in args.step.split(",") if s]:
        bs = load_config(preset).train.batch_size
        r = time_step(preset, bs, args.steps)
        out["train_step"].append(r)
        print(f"generator-only train step '{preset}' (batch {bs}): {r['steps_per_s']} steps/s = "
              f"{r['images_per_s']} images/s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
