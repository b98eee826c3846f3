#!/usr/bin/env python
"""This project's training step and inference beside a PyTorch re-implementation, ratios from one run.

    python benchmarks/bench_vs_torch.py --config paper --batch 10 --rounds 3 --json results/perf/<kind>.json
    python benchmarks/bench_vs_torch.py --config shipped --batch 8 --gan --infer 1,8 --bf16

Generator step (the issue-24 benchmark): the cascade's forward and backward with an L1 loss on every block and a
plain SGD update, on a synthetic batch; paths ``tf_graph`` (tf.function, what train.py ran before auto-XLA),
``tf_xla`` (jit_compile), ``torch`` (the same layers in PyTorch, benchmarks/torch_cascade.py, eager) and with
``--bf16`` the same three under bfloat16 compute (keras ``mixed_bfloat16``; ``torch.autocast``).
``--xla-elementwise``: also ``tf_graph_ew`` (and with ``--gan`` ``gan_graph_ew``): the graph-mode step in a third
worker whose TensorFlow starts with ``fastpath.XLA_ELEMENTWISE_FLAGS`` (``train.xla_elementwise``: XLA clusters the
element-wise ops, oneDNN keeps the convolutions).
``--conv-matmul``: also ``tf_xla_mm``, the XLA step with its small, wide convolutions (<= 8x8 pixels, >= 256
channels in and out) as matrix products (``train.xla_conv_matmul``, ``fastpath.small_convs_as_matmul``), same
worker, interleaved.
``--gan``: the project's full step (``GANTrainer.train_step``: discriminators, LPIPS, every enabled loss of the
config; random frozen nets), graph and XLA (with ``train.xla_conv_matmul``'s choice, as train.py compiles it).
``--infer B,..``: the inference path
(:func:`facehalluc.infer.engine.from_keras`, masked 128x128 faces -> every block's output) in graph mode, with
XLA (both reading the weights as variables), as a loaded model's default for that batch size (``infer_default``:
what ``load_hallucinator`` gives, ``fastpath.infer_xla``'s choice with the weights frozen per
``fastpath.infer_freeze``), and PyTorch (pyramid + cascade under ``inference_mode``).

Paths are interleaved: each round times every path once, in a rotated order; the median over rounds is
reported, and ratios are taken against the median of ``torch`` (or ``tf_graph``) from the same run.  The
machine's ``tf.matmul`` and ``torch.mm`` GFLOP/s (2048^2 float32) are measured at the start and the end.
PyTorch is optional (``pip install .[bench]``): without it the PyTorch column is skipped with a message.

``--isa avx2|avx512``: caps the instruction set of every kernel library both frameworks dispatch at run time
(oneDNN ``ONEDNN_MAX_CPU_ISA``, XLA ``--xla_cpu_max_isa``, PyTorch ``ATEN_CPU_CAPABILITY``), to see the
code paths of a CPU kind this machine is not: an *emulation* on this machine's cores, caches and clocks, not
a measurement of that kind (TensorFlow's own Eigen kernels are compiled for AVX and are unaffected).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# PyTorch's CUDA wheels (the default on Linux) bring Triton; torch.optim imports torch._dynamo, which probes
# for it, and importing Triton in a process that has loaded TensorFlow 2.21 segfaults.  These benchmarks are
# CPU-only: an absent module makes the probe answer "no Triton".
sys.modules.setdefault("triton", None)  # type: ignore[assignment]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


#: --isa: environment that caps the run-time ISA dispatch of oneDNN (TF and PyTorch), XLA and ATen
ISA_CAPS = {
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "XLA_FLAGS": "--xla_cpu_max_isa=AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
    "avx512": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "XLA_FLAGS": "--xla_cpu_max_isa=AVX512",
               "ATEN_CPU_CAPABILITY": "avx512"},
}


def cap_isa(isa: str | None) -> dict:
    """Sets ``ISA_CAPS[isa]`` in ``os.environ`` (before TensorFlow or PyTorch start; spawned workers inherit it)
    and returns what it set; ``None`` / ``"native"`` sets nothing."""
    if isa in (None, "native"):
        return {}
    env = dict(ISA_CAPS[isa])
    if os.environ.get("XLA_FLAGS"):
        env["XLA_FLAGS"] = os.environ["XLA_FLAGS"] + " " + env["XLA_FLAGS"]
    os.environ.update(env)
    return env


def timed(fn, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps


def matmul_gflops(torch_mod=None, n: int = 2048, reps: int = 8) -> dict:
    import tensorflow as tf

    a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))
    f = tf.function(lambda x, y: tf.matmul(x, y))
    f(a, b).numpy()
    out = {"tf": 2 * n ** 3 / timed(lambda: f(a, b).numpy(), reps) / 1e9}
    if torch_mod is not None:
        ta, tb = torch_mod.rand(n, n), torch_mod.rand(n, n)
        torch_mod.mm(ta, tb)
        out["torch"] = 2 * n ** 3 / timed(lambda: torch_mod.mm(ta, tb), reps) / 1e9
    return out


def synthetic(cfg, bs: int, seed: int = 0) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for r in cfg.model.resolutions:
        full = rng.uniform(0, 1, (bs, r, r, 3)).astype("float32")
        mask = np.zeros((bs, r, r, 1), "float32")
        mask[:, r // 4: 3 * r // 4, r // 4: 3 * r // 4] = 1
        out.update({f"full_{r}": full, f"masked_{r}": full * mask, f"mask_{r}": mask})
    return out


def tf_generator_steps(cfg, batch: dict, bf16: bool, conv_matmul: bool = False) -> dict:
    """{name: step_fn} for the TF generator step, graph and XLA (same model and weights); with ``conv_matmul``
    also ``tf_xla_mm``: the XLA step traced inside ``fastpath.small_convs_as_matmul`` (train.xla_conv_matmul)."""
    import keras
    import tensorflow as tf

    from facehalluc.models import build_cascade
    from facehalluc.utils.fastpath import native_dilated_conv, small_convs_as_matmul

    res = cfg.model.resolutions
    prev = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if bf16 else "float32")
    try:
        gen = build_cascade(cfg)
    finally:
        keras.mixed_precision.set_global_policy(prev)
    opt = keras.optimizers.SGD(1e-4)
    opt.build(gen.trainable_variables)
    x = {k: tf.constant(v) for k, v in batch.items() if not k.startswith("full")}
    y = {r: tf.constant(batch[f"full_{r}"]) for r in res}

    def step(matmul=False):
        # as GANTrainer.train_step: traced inside fastpath.native_dilated_conv (dilated convs as one oneDNN op)
        # and, where train.xla_conv_matmul is on, small_convs_as_matmul
        with native_dilated_conv(), small_convs_as_matmul(matmul), tf.GradientTape() as tape:
            outs = gen(x, training=True)
            loss = tf.add_n([tf.reduce_mean(tf.abs(y[r] - tf.cast(outs[f"out_{r}"], tf.float32))) for r in res])
        opt.apply(tape.gradient(loss, gen.trainable_variables), gen.trainable_variables)
        return loss

    sfx = "_bf16" if bf16 else ""
    g, j = tf.function(step), tf.function(step, jit_compile=True)
    paths = {f"tf_graph{sfx}": lambda: float(g()), f"tf_xla{sfx}": lambda: float(j())}
    if conv_matmul:
        m = tf.function(lambda: step(True), jit_compile=True)
        paths[f"tf_xla_mm{sfx}"] = lambda: float(m())
    return paths


def torch_generator_step(torch, cfg, batch: dict, bf16: bool):
    from torch_cascade import TorchCascade

    res = cfg.model.resolutions
    model = TorchCascade(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    nchw = {k: torch.from_numpy(v.transpose(0, 3, 1, 2).copy()) for k, v in batch.items()}
    masked, mask = ({r: nchw[f"{p}_{r}"] for r in res} for p in ("masked", "mask"))
    full = {r: nchw[f"full_{r}"] for r in res}

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outs = model(masked, mask)
        loss = sum((full[r] - outs[r].float()).abs().mean() for r in res)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def tf_gan_steps(cfg, batch: dict, jit: tuple = (False, True)) -> dict:
    import tensorflow as tf

    from facehalluc.losses import build_loss_networks
    from facehalluc.models import build_cascade
    from facehalluc.train.trainer import GANTrainer, build_discriminators, make_optimizers

    from facehalluc.utils.fastpath import train_xla_conv_matmul

    out = {}
    for name, jit in (("gan_xla" if j else "gan_graph", j) for j in jit):
        tr = GANTrainer(build_cascade(cfg), build_discriminators(tuple(cfg.model.resolutions), cfg), cfg,
                        build_loss_networks(cfg))
        # as train.py compiles it: under XLA with train.xla_conv_matmul's choice for this kind and width
        mm = train_xla_conv_matmul(cfg.train.xla_conv_matmul, jit, width_divisor=cfg.model.width_divisor).on
        tr.compile(*make_optimizers(cfg), jit_compile=jit, conv_matmul=mm)
        data = {k: tf.constant(v) for k, v in batch.items()}
        fn = tf.function(tr.train_step, jit_compile=jit or None)
        out[name] = (lambda f=fn, d=data: float(f(d)["g_total"]))
    return out


def with_random_biases(model, seed: int = 0, std: float = 0.02):
    """``model`` with every bias drawn from N(0, std), as a trained model's are.  Keras initialises biases to zero,
    and with the weights frozen into the graph (a loaded model's inference) grappler then drops every bias add as
    adding zero, and with it the convolution + bias + activation fusion: an untrained model's frozen graph is not
    the one a trained model runs (PyTorch's default initialisation draws its biases)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.path.endswith("bias"):
            w.assign(rng.normal(0.0, std, w.shape).astype(w.dtype))
    return model


def infer_paths(cfg, cascade_fn, torch, bs: int, tf_paths: bool = True) -> dict:
    import numpy as np

    from facehalluc.infer.engine import from_keras, weight_bytes
    from facehalluc.utils import fastpath

    batch = synthetic(cfg, bs, seed=1)
    top = cfg.model.resolutions[-1]
    masked = batch[f"masked_{top}"]
    out = {}
    # graph, XLA (both with the weights as variables), and a loaded model's default in its steady state
    # (load_hallucinator: fastpath.infer_xla's choice for this batch size on this CPU kind, the weights frozen as
    # fastpath.infer_freeze says; freeze=True freezes from the first call instead of after INFER_FREEZE_AFTER_FACES)
    for name, jit, freeze in ((f"infer_graph_b{bs}", False, False), (f"infer_xla_b{bs}", True, False),
                              (f"infer_default_b{bs}", None, None)) if tf_paths else ():
        model = with_random_biases(cascade_fn())  # a model of its own: XLA patches the cascade
        if freeze is None:
            freeze = fastpath.infer_freeze(weight_bytes(model)).on
        h = from_keras(model, cfg, jit_compile=jit, freeze=freeze)
        out[name] = (lambda h=h: h.run(masked))
    if torch is not None:
        import torch.nn.functional as F
        from torch_cascade import TorchCascade

        model = TorchCascade(cfg).eval()
        xm = torch.from_numpy(np.ascontiguousarray(masked.transpose(0, 3, 1, 2)))
        aa = bool(cfg.model.pyramid_antialias)

        def run():
            with torch.inference_mode():
                mk = (xm > 0).any(1, keepdim=True).float()
                pm, pk = {}, {}
                for r in cfg.model.resolutions:
                    pm[r] = xm if r == top else F.interpolate(xm, (r, r), mode="bilinear", antialias=aa)
                    pk[r] = mk if r == top else F.interpolate(mk, (r, r), mode="bilinear", antialias=aa)
                return {r: o.numpy() for r, o in model(pm, pk).items()}
        out[f"infer_torch_b{bs}"] = run
    return out


def machine() -> dict:
    from facehalluc.utils import fastpath

    flags = fastpath.cpu_flags()
    return {"cpu": fastpath.cpu_model(), "kind": fastpath.cpu_kind(flags), "cores": os.cpu_count(),
            "flags": sorted(f for f in flags if f.startswith(("avx", "amx", "fma"))),
            "platform": platform.platform(), "loadavg_start": os.getloadavg()}


def write_result(path: Path, info: dict) -> None:
    """A benchmark's result file (JSON; numpy scalars as floats), its folder made; says where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=1, default=float) + "\n")
    print(f"wrote {path}")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return "unknown"


def build_paths(framework: str, args) -> dict:
    """The timed callables of one worker ("tf", "tf_ew": TensorFlow with element-wise XLA clusters, or "torch"),
    built inside that worker's process."""
    import keras

    from facehalluc.config import load_config
    from facehalluc.models import build_cascade

    cfg = load_config(args.config, ["weights.allow_random=true", *args.overrides])
    batch = synthetic(cfg, args.batch)
    paths: dict = {}
    if framework == "torch":
        import torch

        torch.manual_seed(0)
        if not args.no_step:
            for bf16 in (False, True) if args.bf16 else (False,):
                paths["torch" + ("_bf16" if bf16 else "")] = torch_generator_step(torch, cfg, batch, bf16)
        for bs in args.infer_batches:
            paths.update(infer_paths(cfg, None, torch, bs, tf_paths=False))
        return paths
    keras.utils.set_random_seed(0)
    if framework == "tf_ew":  # TensorFlow started with XLA_ELEMENTWISE_FLAGS: the graph-mode paths only
        if not args.no_step:
            paths["tf_graph_ew"] = tf_generator_steps(cfg, batch, False)["tf_graph"]
        if args.gan:
            paths["gan_graph_ew"] = tf_gan_steps(cfg, batch, jit=(False,))["gan_graph"]
        return paths
    if not args.no_step:
        for bf16 in (False, True) if args.bf16 else (False,):
            paths.update(tf_generator_steps(cfg, batch, bf16, conv_matmul=args.conv_matmul))
    if args.gan:
        paths.update(tf_gan_steps(cfg, batch))
    for bs in args.infer_batches:
        paths.update(infer_paths(cfg, lambda: build_cascade(cfg), None, bs))
    return paths


def worker(framework: str, args, conn) -> None:
    """Builds its paths, runs each once (trace / compile), then times the path names it receives."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    torch_mod = __import__("torch") if framework == "torch" else None
    mm = matmul_gflops(torch_mod) if framework == "torch" else None
    paths = build_paths(framework, args)
    first = {}
    for name, fn in paths.items():
        t0 = time.perf_counter()
        fn()
        first[name] = time.perf_counter() - t0
    conn.send({"first_call_s": first, "matmul": mm})
    while True:
        msg = conn.recv()
        if msg is None:
            if framework == "torch":
                conn.send(matmul_gflops(torch_mod))
            return
        conn.send(timed(paths[msg], args.steps))


def reference_for(n: str, med: dict) -> str | None:
    """The path a path's speed is compared with: PyTorch's counterpart, else TF graph mode."""
    if n.startswith("infer_"):
        cand = "infer_torch_" + n.rsplit("_", 1)[1]
    elif n.startswith("gan_"):
        cand = "gan_graph"
    else:
        cand = "torch_bf16" if n.endswith("_bf16") else "torch"
    return cand if cand in med else ("tf_graph" if "tf_graph" in med and not n.startswith(("infer", "gan"))
                                     else None)


def _steps_of(command: str) -> int:
    """``--steps`` of a recorded command line (1, the default, when absent)."""
    words = command.split()
    return int(words[words.index("--steps") + 1]) if "--steps" in words else 1


def summarize(info: dict, rounds: int, steps: int) -> None:
    """Prints the run's table and fills ``info["speedup"]``: for each path against its reference, the ratio of
    the medians (``x``) and, per round, reference time / path time (both timed in that round, minutes apart at
    most), with the median and range of those paired ratios (``paired_median_x``, ``paired_min_x``,
    ``paired_max_x``): the machine's drift between rounds cancels in the paired form."""
    times, med, compile_s = info["seconds"], info["median_s"], info["first_call_s"]
    names = sorted(med, key=lambda n: (n.startswith("infer"), n.startswith("gan"), n))
    mm = info["matmul_gflops_start"]
    isa = (info.get("isa_cap") or {}).get("isa")
    kind = info["machine"]["kind"] + (f", ISA capped to {isa} (emulated)" if isa else "")
    print(f"\n{info['machine']['cpu']} (kind {kind}, {info['machine']['cores']} cores), "
          f"config {info['config']}, batch {info['batch']}, {rounds} rounds x {steps} steps; load average "
          f"{info['machine']['loadavg_start'][0]:.1f} -> {info['machine']['loadavg_end'][0]:.1f}")
    print("matmul GFLOP/s start " + ", ".join(f"{k} {v:.0f}" for k, v in mm.items()) + "; end " +
          ", ".join(f"{k} {v:.0f}" for k, v in info["matmul_gflops_end"].items()))
    print(f"{'path':<22}{'median s':>10}{'min s':>9}{'first s':>9}   speed vs reference (ref time / time): "
          "ratio of medians; paired per round, median [min, max]")
    info["speedup"] = {}
    for n in names:
        ref = reference_for(n, med)
        sp = {"vs": ref, "x": med[ref] / med[n] if ref else None}
        if ref:
            paired = [r / t for r, t in zip(times[ref], times[n])]
            sp.update(paired_median_x=statistics.median(paired), paired_min_x=min(paired), paired_max_x=max(paired))
        info["speedup"][n] = sp
        print(f"{n:<22}{med[n]:>10.3f}{min(times[n]):>9.3f}{compile_s[n]:>9.1f}   "
              + (f"{sp['x']:.2f}x vs {ref}; paired {sp['paired_median_x']:.2f}x "
                 f"[{sp['paired_min_x']:.2f}, {sp['paired_max_x']:.2f}]" if ref else ""))


def main(argv: list[str] | None = None) -> int:
    import multiprocessing as mp

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="paper")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; median over rounds")
    p.add_argument("--steps", type=int, default=1, help="timed steps per path per round")
    p.add_argument("--no-step", action="store_true", help="skip the generator step")
    p.add_argument("--bf16", action="store_true", help="also the bfloat16 variants of the generator step")
    p.add_argument("--gan", action="store_true", help="also the full GAN step (graph and XLA)")
    p.add_argument("--xla-elementwise", action="store_true",
                   help="also the graph-mode step (and --gan step) with element-wise XLA clusters "
                        "(train.xla_elementwise; a third worker whose TensorFlow starts with those TF_XLA_FLAGS)")
    p.add_argument("--conv-matmul", action="store_true",
                   help="also tf_xla_mm: the XLA step with its small, wide convolutions as matrix products "
                        "(train.xla_conv_matmul; fastpath.small_convs_as_matmul)")
    p.add_argument("--infer", default="", help="comma-separated inference batch sizes, e.g. 1,8")
    p.add_argument("--json", type=Path)
    p.add_argument("--isa", choices=["native", *ISA_CAPS], default="native",
                   help="cap the run-time instruction set of oneDNN, XLA and ATen (emulates another CPU kind)")
    p.add_argument("--summarize", type=Path, metavar="RESULT.json",
                   help="print the table of a saved result file (with the paired ratios) and exit; runs nothing")
    p.add_argument("overrides", nargs="*", help="config overrides, e.g. loss.use_id=false")
    args = p.parse_args(argv)
    if args.summarize:
        info = json.loads(args.summarize.read_text())
        summarize(info, len(next(iter(info["seconds"].values()))), _steps_of(info["command"]))
        return 0
    args.infer_batches = [int(b) for b in args.infer.split(",") if b]
    isa_env = cap_isa(args.isa)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from facehalluc.utils.fastpath import prefer_onednn

    prefer_onednn()  # what the command-line tools do before TensorFlow starts (the workers inherit it)
    import keras

    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: the PyTorch column is skipped (pip install '.[bench]' adds it)")
    info = {"command": "python benchmarks/bench_vs_torch.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
            "versions": {"tensorflow": __import__("tensorflow").__version__, "keras": keras.__version__,
                         "torch": torch.__version__ if torch else None},
            "torch_threads": torch.get_num_threads() if torch else None,
            "config": args.config, "batch": args.batch, "overrides": args.overrides,
            "processes": "one worker process per framework (and one for --xla-elementwise); the idle ones wait on a pipe",
            "isa_cap": {"isa": args.isa, "env": isa_env,
                        "note": "emulated: instruction set capped on this machine (see the module docstring)"}
            if isa_env else None}
    # one process per framework, so neither's idle thread pool competes with the other's kernels
    ctx = mp.get_context("spawn")
    workers, owner, compile_s = {}, {}, {}
    info["matmul_gflops_start"] = matmul_gflops()
    from facehalluc.utils.fastpath import XLA_ELEMENTWISE_FLAGS

    for fw in ("tf", *(("tf_ew",) if args.xla_elementwise else ()), *(("torch",) if torch is not None else ())):
        a, b = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(fw, args, b), daemon=True)
        saved = os.environ.get("TF_XLA_FLAGS")
        if fw == "tf_ew":  # read once when the worker's TensorFlow starts, as train.py sets it
            os.environ["TF_XLA_FLAGS"] = " ".join([saved or "", *XLA_ELEMENTWISE_FLAGS]).strip()
        try:
            proc.start()
        finally:
            if fw == "tf_ew":
                os.environ.pop("TF_XLA_FLAGS", None) if saved is None else os.environ.update(TF_XLA_FLAGS=saved)
        first = a.recv()
        workers[fw] = (proc, a)
        if first["matmul"]:
            info["matmul_gflops_start"]["torch"] = first["matmul"]["torch"]
        for n, sec in first["first_call_s"].items():
            owner[n] = fw
            compile_s[n] = sec
            print(f"{n}: first call (trace/compile) {sec:.1f} s", flush=True)
    names = sorted(owner, key=lambda n: (n.startswith("infer"), n.startswith("gan"), n))
    times: dict[str, list[float]] = {n: [] for n in names}
    for k in range(args.rounds):
        order = names[k % len(names):] + names[:k % len(names)]
        for n in order:
            conn = workers[owner[n]][1]
            conn.send(n)
            times[n].append(conn.recv())
        print(f"round {k + 1}: " + ", ".join(f"{n} {times[n][-1]:.3f}" for n in names), flush=True)
    info["matmul_gflops_end"] = matmul_gflops()
    for fw, (proc, conn) in workers.items():
        conn.send(None)
        if fw == "torch":
            info["matmul_gflops_end"]["torch"] = conn.recv()["torch"]
        proc.join(60)
    info["machine"]["loadavg_end"] = os.getloadavg()
    med = {n: statistics.median(v) for n, v in times.items()}
    info.update({"seconds": times, "median_s": med, "first_call_s": compile_s})

    summarize(info, args.rounds, args.steps)
    if args.json:
        write_result(args.json, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
