#!/usr/bin/env python
"""How the frozen inference function is called: directly, or through a tf.function that binds its inputs.

    python benchmarks/bench_frozen_call.py --config shipped --batch 1,8 --rounds 60 [--json F]

``convert_variables_to_constants_v2`` returns a function whose structured signature takes no arguments.  Called
directly with the faces, it first fails to bind them; the TypeError it builds (and then drops, to run the flat
signature) formats every input tensor's values into its message.  ``infer.engine._Frozen`` therefore calls it
through a ``tf.function`` with the input signature (``FrozenCall.call``).  This times both on the same frozen graph,
interleaved in one process (alternating order), and checks they return the same bits.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="shipped")
    p.add_argument("--batch", default="1,8", help="comma-separated batch sizes")
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from facehalluc.utils.fastpath import prefer_onednn

    prefer_onednn()
    import numpy as np
    import tensorflow as tf

    from bench_vs_torch import commit, machine, synthetic, with_random_biases, write_result
    from facehalluc.config import load_config
    from facehalluc.infer.engine import from_keras
    from facehalluc.models import build_cascade

    cfg = load_config(args.config, ["weights.allow_random=true"])
    h = from_keras(with_random_biases(build_cascade(cfg)), cfg, jit_compile=False, freeze=True)
    top = cfg.model.resolutions[-1]
    info = {"command": "python benchmarks/bench_frozen_call.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "batches": {}}
    for bs in (int(b) for b in args.batch.split(",")):
        masked = synthetic(cfg, bs, seed=1)[f"masked_{top}"]
        h.run(masked)  # traces and freezes this input shape
        frozen = next(iter(h._default.frozen.values()))  # one input shape: one frozen function
        x = tf.convert_to_tensor(masked)
        paths = {"direct": lambda: [t.numpy() for t in frozen.graph(x)],
                 "bound": lambda: [t.numpy() for t in frozen.call(x)]}
        same = all(np.array_equal(a, b) for a, b in zip(paths["direct"](), paths["bound"]()))
        times: dict = {n: [] for n in paths}
        for r in range(args.rounds):
            for n in (("direct", "bound") if r % 2 else ("bound", "direct")):
                t0 = time.perf_counter()
                paths[n]()
                times[n].append(time.perf_counter() - t0)
        med = {n: statistics.median(v) for n, v in times.items()}
        paired = statistics.median(d / b for d, b in zip(times["direct"], times["bound"]))
        info["batches"][bs] = {"seconds": times, "median_s": med, "bit_identical": same,
                               "direct_over_bound": med["direct"] / med["bound"], "paired": paired}
        print(f"batch {bs}: direct {med['direct'] * 1e3:.2f} ms, bound {med['bound'] * 1e3:.2f} ms "
              f"({med['direct'] / med['bound']:.3f}x; paired {paired:.3f}x; saved "
              f"{(med['direct'] - med['bound']) * 1e3:.2f} ms); outputs bit-identical: {same}", flush=True)
        h._default.frozen.clear()
        h._default.seen.clear()
    if args.json:
        write_result(args.json, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
