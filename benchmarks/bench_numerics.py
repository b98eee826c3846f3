#!/usr/bin/env python
"""Eager vs graph vs float64 for the cascades, and what the oneDNN-fusion workaround costs.

    .venv/bin/python benchmarks/bench_numerics.py --config tiny
    .venv/bin/python benchmarks/bench_numerics.py --config paper --batch 1 --timing --batch-timing 4

Prints, per block output: max |eager - tf.function|, max |eager - float64| and max |graph - float64|,
where float64 is the same network cloned layer by layer with a float64 dtype policy and the same
weights, run eagerly (TensorFlow's Eigen kernels; oneDNN does not handle float64).

``--timing`` times the generator's forward + backward (a tf.function, the train step's generator part)
in one process, interleaving the variants so machine load hits all alike:

* ``fixed``: the package's generator (every LeakyReLU as max(x, slope x), ``SafeLeakyReLU``), remapper on;
* ``legacy_remapper_off``: keras LeakyReLU after the residual Add, grappler remapper off (correct);
* ``legacy_remapper_on``: keras LeakyReLU, remapper on: the fused kernel with the WRONG slope (speed only).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def random_inputs(model, batch: int, seed: int = 0) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for t in model.inputs:
        n = t.name.split(":")[0]
        shp = [batch] + list(t.shape[1:])
        out[n] = (rng.random(shp).astype("float32") if n.startswith("masked")
                  else (rng.random(shp) > 0.5).astype("float32"))
    return out


def float64_clone(model):
    import keras

    def to64(layer):
        c = layer.get_config()
        c["dtype"] = "float64"
        return layer.__class__.from_config(c)

    clone = keras.models.clone_model(model, clone_function=to64, recursive=True)
    clone.set_weights([w.astype("float64") for w in model.get_weights()])
    return clone


def build(cfg, legacy: bool, seed: int = 0):
    import keras
    from keras import layers

    import facehalluc.models.generator as gen

    original = gen.SafeLeakyReLU
    if legacy:
        gen.SafeLeakyReLU = lambda negative_slope, name: layers.LeakyReLU(negative_slope=negative_slope,
                                                                             name=name)
    try:
        keras.utils.set_random_seed(seed)
        return gen.build_cascade(cfg)
    finally:
        gen.SafeLeakyReLU = original


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="tiny")
    p.add_argument("--batch", type=int, default=2, help="batch of the accuracy check")
    p.add_argument("--timing", action="store_true")
    p.add_argument("--batch-timing", type=int, default=4)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()

    import numpy as np
    import tensorflow as tf

    from facehalluc.config import load_config

    cfg = load_config(args.config)
    model = build(cfg, legacy=False)
    x = random_inputs(model, args.batch)
    e = model(x, training=False)
    g = tf.function(lambda t: model(t, training=False))(x)
    r = float64_clone(model)({k: v.astype("float64") for k, v in x.items()}, training=False)
    print(f"config={cfg.name} batch={args.batch} TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset (TF default)')}")
    print(f"{'output':8s} {'eager-graph':>12s} {'eager-f64':>12s} {'graph-f64':>12s}")
    for k in e:
        E, G, R = (np.asarray(t[k], dtype=np.float64) for t in (e, g, r))
        print(f"{k:8s} {np.abs(E - G).max():12.2e} {np.abs(E - R).max():12.2e} {np.abs(G - R).max():12.2e}")
    if not args.timing:
        return

    xt = random_inputs(model, args.batch_timing, seed=1)
    xt = {k: tf.constant(v) for k, v in xt.items()}

    def step_fn(m):
        @tf.function
        def step(inp):
            with tf.GradientTape() as tape:
                out = m(inp, training=True)
                loss = tf.add_n([tf.reduce_mean(v) for v in out.values()])
            return tape.gradient(loss, m.trainable_variables)
        return step

    variants = {}
    for name, legacy, remap in (("fixed", False, True), ("legacy_remapper_off", True, False),
                                ("legacy_remapper_on", True, True)):
        tf.config.optimizer.set_experimental_options({"remapping": remap})
        m = model if name == "fixed" else build(cfg, legacy=legacy)
        f = step_fn(m)
        t0 = time.perf_counter()
        f(xt)  # trace + grappler (remapper setting read here)
        variants[name] = f
        print(f"{name}: trace + first step {time.perf_counter() - t0:.1f} s")
    tf.config.optimizer.set_experimental_options({"remapping": True})
    times = {k: [] for k in variants}
    for _ in range(args.reps):
        for name, f in variants.items():
            t0 = time.perf_counter()
            f(xt)
            times[name].append(time.perf_counter() - t0)
    base = min(times["fixed"])
    for name, ts in times.items():
        print(f"{name:22s} generator fwd+bwd batch {args.batch_timing}: min {min(ts):.3f} s  "
              f"median {sorted(ts)[len(ts) // 2]:.3f} s  ratio to fixed {min(ts) / base:.3f}")


if __name__ == "__main__":
    main()
