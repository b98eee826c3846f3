#!/usr/bin/env python
"""The two fast paths that do not depend on the CPU kind, each against its absence, interleaved in one process
(issue 24):

* ``fastpath.native_dilated_conv``: dilated convolutions traced as one oneDNN ``Conv2D`` with ``dilations``
  (``native``) instead of ``tf.nn.convolution``'s space-to-batch / convolution / batch-to-space (``stock``), for the
  generator step of ``bench_vs_torch.py`` (graph mode) and for inference;
* ``fastpath.infer_freeze``: inference with the weights folded into the graph (``frozen``) or read from variables;
  ``--xla`` adds the frozen variant with the cascade XLA-compiled (``fastpath.INFER_XLA_FASTER``'s other choice).

    python benchmarks/bench_fastpath_ab.py --config shipped --batch 8 --infer 1,8 --rounds 11 \\
        --json results/perf/fastpath_ab_<kind>_shipped.json

Every variant is traced (and frozen) before any is timed; then each round times every variant once, in an order
that alternates between rounds; medians over rounds are reported, with each variant's speed-up over the stock one
(stock time / time) and the median of the per-round paired ratios.  It also reports the largest difference
between the variants' outputs (loss of the step; every block's output of inference).
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
    ap.add_argument("--batch", type=int, default=8, help="batch of the generator step")
    ap.add_argument("--infer", default="1,8", help="comma-separated inference batch sizes ('' for none)")
    ap.add_argument("--no-step", action="store_true")
    ap.add_argument("--xla", action="store_true",
                    help="also inference with native dilation, frozen weights and the cascade XLA-compiled")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--steps", type=int, default=3, help="calls per timing")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import keras
    import numpy as np

    from bench_vs_torch import machine, synthetic, tf_generator_steps, timed, with_random_biases
    from facehalluc.config import load_config
    from facehalluc.infer.engine import from_keras
    from facehalluc.models import build_cascade
    from facehalluc.utils import fastpath

    if not fastpath.native_dilation().on:
        print(f"note: native dilated convolutions are off here ({fastpath.native_dilation().reason}): "
              "'native' variants equal 'stock'", file=sys.stderr)
    cfg = load_config(args.config, ["weights.allow_random=true"])
    paths, values, groups = {}, {}, {}

    def traced(native: bool, make):
        """``make()`` traced (its first call) with native dilation on or off: the switch is read at trace time."""
        before = os.environ.get("FACEHALLUC_NATIVE_DILATION")
        os.environ["FACEHALLUC_NATIVE_DILATION"] = "1" if native else "0"
        try:
            fn = make()
            return fn, fn()
        finally:
            if before is None:
                os.environ.pop("FACEHALLUC_NATIVE_DILATION")
            else:
                os.environ["FACEHALLUC_NATIVE_DILATION"] = before

    if not args.no_step:
        batch = synthetic(cfg, args.batch)
        for native in (False, True):
            def make():
                keras.utils.set_random_seed(0)
                return tf_generator_steps(cfg, batch, bf16=False)["tf_graph"]
            name = f"step_{'native' if native else 'stock'}"
            paths[name], values[name] = traced(native, make)
            values[name] = {"loss": np.asarray(values[name])}
        groups["step"] = ["step_stock", "step_native"]
    for bs in [int(b) for b in args.infer.split(",") if b]:
        masked = synthetic(cfg, bs, seed=1)[f"masked_{cfg.model.resolutions[-1]}"]
        keras.utils.set_random_seed(0)
        weights = with_random_biases(build_cascade(cfg)).get_weights()  # as a trained model's (bench_vs_torch)
        names = []
        variants = [(False, False, False), (True, False, False), (True, True, False)]
        for native, freeze, xla in variants + ([(True, True, True)] if args.xla else []):
            def make(freeze=freeze, xla=xla, masked=masked):
                model = build_cascade(cfg)
                model.set_weights(weights)
                h = from_keras(model, cfg, jit_compile=xla, freeze=freeze)
                return lambda: h.run(masked)
            name = (f"infer_b{bs}_{'native' if native else 'stock'}{'_frozen' if freeze else ''}"
                    f"{'_xla' if xla else ''}")
            paths[name], values[name] = traced(native, make)
            names.append(name)
        groups[f"infer_b{bs}"] = names

    for fn in paths.values():  # a second untimed call: the first calls after tracing still warm up
        fn()
    times: dict[str, list[float]] = {k: [] for k in paths}
    for i in range(args.rounds):
        order = list(paths) if i % 2 == 0 else list(paths)[::-1]
        for name in order:
            times[name].append(timed(paths[name], args.steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    summary = {}
    for g, names in groups.items():
        ref = names[0]
        for n in names[1:]:
            diff = max(float(np.max(np.abs(values[n][k] - values[ref][k]))) for k in values[ref])
            summary[n] = {"speedup_vs_" + ref: med[ref] / med[n],
                          "paired_ratio_median": statistics.median(a / b for a, b in zip(times[ref], times[n])),
                          "max_abs_output_difference": diff}
    out = {"config": args.config, "batch": args.batch, "rounds": args.rounds, "calls_per_timing": args.steps,
           "machine": machine(), "native_dilation": fastpath.native_dilation().reason,
           "seconds_median": med, "seconds_min": {k: min(v) for k, v in times.items()}, "summary": summary,
           "all_timings": times, "date": time.strftime("%Y-%m-%d"),
           "command": "python benchmarks/bench_fastpath_ab.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    for n, t in med.items():
        extra = summary.get(n, {})
        ratio = next((f"{v:.3f}x vs {k[11:]}" for k, v in extra.items() if k.startswith("speedup_vs_")), "reference")
        print(f"{n:<28}{t:9.4f} s  {ratio}" + (f"  paired {extra['paired_ratio_median']:.3f}x, outputs differ by "
                                                f"{extra['max_abs_output_difference']:.1e}" if extra else ""))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
