#!/usr/bin/env python
"""SafeLeakyReLU's gradient: TensorFlow's own (the gradient of ``Maximum`` and ``Mul``) against a one-op custom
gradient that selects on the layer's *output*, interleaved in one process (issue 24).

    python benchmarks/bench_act_grad.py --config shipped --batch 8 --rounds 7 --json results/perf/act_grad_<kind>.json

Both variants are traced into their own ``tf.function`` (the generator step of ``bench_vs_torch.py``: forward,
L1 on every block, backward, SGD) before any is timed, then timed in alternating order; the median over rounds
is reported with the ratio.  It also checks that the two variants give the same loss and the same gradients
(max abs difference) and whether grappler logged "remapper failed" while tracing the custom-gradient step.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="shipped")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=5, help="steps per timing")
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from bench_vs_torch import machine, synthetic, timed
    from facehalluc.config import load_config
    from facehalluc.models import build_cascade
    from facehalluc.models import layers as L
    from facehalluc.utils.fastpath import cpu_kind

    cfg = load_config(args.config)
    batch = synthetic(cfg, args.batch)
    res = cfg.model.resolutions
    x = {k: tf.constant(v) for k, v in batch.items() if not k.startswith("full")}
    y = {r: tf.constant(batch[f"full_{r}"]) for r in res}

    def make(variant: str):
        L.SafeLeakyReLU.output_gradient = variant == "output_select"
        keras.utils.set_random_seed(0)
        gen = build_cascade(cfg)
        opt = keras.optimizers.SGD(1e-4)
        opt.build(gen.trainable_variables)

        def grads():
            with tf.GradientTape() as tape:
                outs = gen(x, training=True)
                loss = tf.add_n([tf.reduce_mean(tf.abs(y[r] - outs[f"out_{r}"])) for r in res])
            return loss, tape.gradient(loss, gen.trainable_variables)

        def step():
            loss, g = grads()
            opt.apply(g, gen.trainable_variables)
            return loss

        gfn, sfn = tf.function(grads), tf.function(step)
        loss, g = gfn()  # traced now, with this variant's class attribute
        sfn()
        return sfn, float(loss), [np.asarray(v) for v in g]

    default = L.SafeLeakyReLU.output_gradient
    try:
        step_a, loss_a, g_a = make("tf_default")
        step_b, loss_b, g_b = make("output_select")
    finally:
        L.SafeLeakyReLU.output_gradient = default
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(g_a, g_b))
    times = {"tf_default": [], "output_select": []}
    for i in range(args.rounds):
        order = ("tf_default", "output_select") if i % 2 == 0 else ("output_select", "tf_default")
        for name in order:
            fn = step_a if name == "tf_default" else step_b
            times[name].append(timed(lambda: float(fn()), args.steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"config": args.config, "batch": args.batch, "rounds": args.rounds, "steps_per_timing": args.steps,
           "cpu_kind": cpu_kind(), "machine": machine(), "seconds_per_step_median": med, "all_timings": times,
           "ratio_default_over_output_select": med["tf_default"] / med["output_select"],
           "loss": {"tf_default": loss_a, "output_select": loss_b}, "max_abs_grad_difference": diff,
           "command": "python benchmarks/bench_act_grad.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "date": time.strftime("%Y-%m-%d"), "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")}
    print(json.dumps({k: out[k] for k in ("cpu_kind", "seconds_per_step_median", "ratio_default_over_output_select",
                                          "loss", "max_abs_grad_difference")}, indent=1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
