#!/usr/bin/env python
"""Where the generator step's time goes: TensorFlow's profiler on the graph (or XLA) step, top ops by self time.

    python benchmarks/profile_step.py --config shipped --batch 8 [--xla] [--steps 2]
    python benchmarks/profile_step.py --config shipped --batch 8 --infer [--steps 20]   # the inference path

Runs the step of benchmarks/bench_vs_torch.py (cascade forward + backward, L1 on every block, SGD) once to
trace, then ``--steps`` times under ``tf.profiler``, reads the host trace (XPlane) and prints the op kinds
(``_MklNativeConv2DBackpropFilter``, ``DepthToSpace``, ``Transpose``, ...) with their share of the op time.
``--infer``: the default inference path of bench_vs_torch.py's ``--infer`` instead (masked faces -> pyramid ->
cascade -> every block's output, :func:`facehalluc.infer.engine.from_keras`; ``--xla`` compiles its cascade).
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def op_times(logdir: str) -> collections.Counter:
    """{op type: microseconds} summed over the TF op events of every host thread."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    files = list(Path(logdir).rglob("*.xplane.pb"))
    total: collections.Counter = collections.Counter()
    for f in files:
        space = xplane_pb2.XSpace()
        space.ParseFromString(f.read_bytes())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            names = {k: v.name for k, v in plane.event_metadata.items()}
            for line in plane.lines:
                if "tf_Compute" not in line.name and "Eigen" not in line.name and "tf_" not in line.name:
                    continue
                for ev in line.events:
                    name = names.get(ev.metadata_id, "?")
                    if ":" not in name or name.endswith(":Process"):  # ops are "node_name:OpType"
                        continue
                    total[name.rsplit(":", 1)[1]] += ev.duration_ps / 1e6
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="shipped")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--xla", action="store_true")
    p.add_argument("--infer", action="store_true", help="profile the inference path instead of the train step")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("overrides", nargs="*")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from bench_vs_torch import infer_paths, synthetic, tf_generator_steps
    from facehalluc.config import load_config
    from facehalluc.models import build_cascade

    cfg = load_config(args.config, args.overrides)
    if args.infer:
        paths = infer_paths(cfg, lambda: build_cascade(cfg), None, args.batch)
        step = paths[f"infer_{'xla' if args.xla else 'graph'}_b{args.batch}"]
    else:
        steps = tf_generator_steps(cfg, synthetic(cfg, args.batch), bf16=False)
        step = steps["tf_xla" if args.xla else "tf_graph"]
    step()
    with tempfile.TemporaryDirectory() as d:
        tf.profiler.experimental.start(d)
        for _ in range(args.steps):
            step()
        tf.profiler.experimental.stop()
        times = op_times(d)
    total = sum(times.values())
    what = "inference calls" if args.infer else "steps"
    print(f"config {cfg.name}, batch {args.batch}, {'XLA' if args.xla else 'graph'}, {args.steps} {what}: "
          f"{total / 1e6 / args.steps:.4f} s of op time per {what[:-1]} (all threads)")
    for op, us in times.most_common(args.top):
        print(f"{op:<40}{us / 1e6 / args.steps:>9.3f} s{us / total:>8.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
