#!/usr/bin/env python
"""oneDNN's own timing of every primitive the generator step (or inference) runs, TensorFlow beside PyTorch.

    python benchmarks/onednn_primitives.py --config shipped --batch 8 [--steps 4] [--sequential] [--json F]
    python benchmarks/onednn_primitives.py --config shipped --batch 8 --infer [--steps 10]

Both frameworks call oneDNN for their convolutions on x86, so the question "is TensorFlow's convolution slower, or
everything around it?" has an exact answer: each framework runs the step of ``bench_vs_torch.py`` (the cascade's
forward and backward, L1 on every block, SGD; ``--infer``: the default inference path) in a child process with
``ONEDNN_VERBOSE=1``, and every executed primitive's time (oneDNN's figure, ms) is summed per primitive kind and
implementation, and per convolution shape and direction.

Read the sums with care: TensorFlow runs independent ops at the same time (for a convolution's backward, the
input and the filter gradient), each with the whole 2-thread pool, so each primitive takes longer and the sums
exceed the step's wall time.  ``--sequential`` runs TensorFlow with one inter-op thread (ops one after another,
as PyTorch's eager mode runs them): the sums are then the work itself, and the step is slower (concurrency pays).
Verbose logging costs time of its own: compare the sums, not the step times.
"""
from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "=== timed steps start ==="


def child(framework: str, args) -> None:
    """Runs the step ``args.steps`` times after warm-up, printing :data:`MARKER` first (oneDNN prints the rest)."""
    sys.modules.setdefault("triton", None)  # type: ignore[assignment]  # see bench_vs_torch.py
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    import bench_vs_torch as bench

    from facehalluc.config import load_config
    from facehalluc.models import build_cascade

    cfg = load_config(args.config, ["weights.allow_random=true", *args.overrides])
    if framework == "torch":
        import torch

        torch.manual_seed(0)
        fn = (bench.infer_paths(cfg, None, torch, args.batch, tf_paths=False)[f"infer_torch_b{args.batch}"]
              if args.infer else bench.torch_generator_step(torch, cfg, bench.synthetic(cfg, args.batch), False))
    else:
        import keras

        keras.utils.set_random_seed(0)
        fn = (bench.infer_paths(cfg, lambda: build_cascade(cfg), None, args.batch)[f"infer_default_b{args.batch}"]
              if args.infer else bench.tf_generator_steps(cfg, bench.synthetic(cfg, args.batch), False)["tf_graph"])
    # warm-up: traces, and for inference a loaded model's steady state (its weights frozen after 256 faces)
    for _ in range(max(3, 300 // args.batch) if args.infer and framework == "tf" else 3):
        fn()
    sys.stdout.flush()
    print(MARKER, flush=True)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        fn()
    sys.stdout.flush()
    print(f"=== wall {(time.perf_counter() - t0) / args.steps:.4f} s per step (with verbose logging) ===", flush=True)


def parse(stdout: str, steps: int) -> dict:
    """{"total_ms", "calls", "by_impl": {"kind|impl|direction": [ms, calls]}, "by_shape": {...}} per step."""
    text = stdout[stdout.index(MARKER):] if MARKER in stdout else ""
    by_impl: dict = collections.defaultdict(lambda: [0.0, 0])
    by_shape: dict = collections.defaultdict(lambda: [0.0, 0])
    wall = None
    for line in text.splitlines():
        if line.startswith("=== wall"):
            wall = float(line.split()[2])
        if not line.startswith("onednn_verbose") or ",exec," not in line:
            continue
        f = line.split(",")
        i = f.index("exec")
        kind, impl, direction, ms = f[i + 2], f[i + 3], f[i + 4], float(f[-1])
        for table, key in ((by_impl, f"{kind}|{impl}|{direction}"), (by_shape, f"{kind}|{direction}|{f[-2]}")):
            table[key][0] += ms / steps
            table[key][1] += 1
    for table in (by_impl, by_shape):
        for v in table.values():
            v[1] //= steps
    return {"total_ms": sum(v[0] for v in by_impl.values()), "calls": sum(v[1] for v in by_impl.values()),
            "wall_s_with_logging": wall, "by_impl": dict(by_impl), "by_shape": dict(by_shape)}


def run(framework: str, args) -> dict:
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as fastpath.prefer_onednn (the CLIs): a user's setting wins
    if args.sequential and framework == "tf":
        env["TF_NUM_INTEROP_THREADS"] = "1"
    cmd = [sys.executable, __file__, "--child", framework, "--config", args.config, "--batch", str(args.batch),
           "--steps", str(args.steps), *(["--infer"] if args.infer else []), *args.overrides]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode or MARKER not in out.stdout:
        raise SystemExit(f"{framework} child failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    if "onednn_verbose" not in out.stdout:
        raise SystemExit(f"{framework}: no oneDNN verbose output (is oneDNN on? TF_ENABLE_ONEDNN_OPTS)")
    return parse(out.stdout, args.steps)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="shipped")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--infer", action="store_true", help="the default inference path instead of the train step")
    p.add_argument("--sequential", action="store_true", help="TensorFlow with one inter-op thread (see above)")
    p.add_argument("--top", type=int, default=12, help="convolution shapes listed per direction")
    p.add_argument("--json", type=Path)
    p.add_argument("--child", choices=["tf", "torch"], help=argparse.SUPPRESS)
    p.add_argument("overrides", nargs="*")
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args)
        return 0
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    import importlib.util

    have_torch = importlib.util.find_spec("torch") is not None
    res = {fw: run(fw, args) for fw in ("tf", "torch") if fw == "tf" or have_torch}
    if not have_torch:
        print("PyTorch is not installed: TensorFlow only (pip install '.[bench]' adds it)")
    what = "inference call" if args.infer else "step"
    for fw, r in res.items():
        print(f"\n{fw}: {r['total_ms']:.1f} ms of oneDNN primitives per {what}, {r['calls']} calls"
              f"{' (TF: one inter-op thread)' if fw == 'tf' and args.sequential else ''}")
        for key, (ms, n) in sorted(r["by_impl"].items(), key=lambda kv: -kv[1][0])[:10]:
            print(f"  {ms:8.2f} ms {n:5d}x  {key}")
    if "torch" in res:
        tf_s, pt_s = res["tf"]["by_shape"], res["torch"]["by_shape"]
        for direction in ("forward_training", "backward_data", "backward_weights"):
            keys = sorted((k for k in set(tf_s) | set(pt_s) if k.startswith(f"convolution|{direction}|")),
                          key=lambda k: -tf_s.get(k, [0])[0])
            tsum, psum = (sum(t.get(k, [0])[0] for k in keys) for t in (tf_s, pt_s))
            print(f"\nconvolution {direction}: TF {tsum:.1f} ms, PyTorch {psum:.1f} ms per {what}")
            for k in keys[:args.top]:
                t, q = tf_s.get(k, [0.0, 0]), pt_s.get(k, [0.0, 0])
                print(f"  TF {t[0]:6.2f} ms ({t[1]}x)  PyTorch {q[0]:6.2f} ms ({q[1]}x)  {k.split('|')[2]}")
    if args.json:
        info = {"command": "python benchmarks/onednn_primitives.py " + " ".join(sys.argv[1:] if argv is None else argv),
                "date": time.strftime("%Y-%m-%d %H:%M"), "results": res}
        from bench_vs_torch import commit, machine, write_result

        info.update(commit=commit(), machine=machine())
        write_result(args.json, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
