#!/usr/bin/env python
"""Each stride-1 convolution shape of a generator, forward and both gradients: XLA's convolution against the same
convolution as one matrix product (``fastpath.small_convs_as_matmul``, ``train.xla_conv_matmul``), optionally also
in graph mode (oneDNN's convolution against the product).

    python benchmarks/bench_conv_matmul.py --config paper --batch 10 [--max-pixels 1024] [--graph] [--json F]

The shapes are read from the generator the config builds (every ``Conv2D`` with stride 1, no dilation, ``same``
padding and an odd square kernel, whose input has at most ``--max-pixels`` pixels), with how many layers share each.
One function per shape and path computes ``y = conv(x, k)``, the loss ``sum(y * probe)`` and both gradients (the
forward is returned too, so nothing is pruned); the paths are timed interleaved, in a rotated order, for
``--rounds`` rounds, and the medians reported with their ratio and the layer-count-weighted totals.  The rule
``small_convs_as_matmul`` applies (``fastpath.CONV_MATMUL_MAX_PIXELS`` pixels, ``CONV_MATMUL_MIN_CHANNELS`` input
and output channels) is printed beside each shape, so a run on another CPU kind shows whether the rule, and the
kind's entry in ``fastpath.TRAIN_XLA_CONV_MATMUL_FASTER``, hold there.  Single ops measure the kernels, not the
train step: the step's own figures come from ``bench_vs_torch.py --conv-matmul``.
"""
from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def conv_shapes(model, max_pixels: int) -> list[tuple[tuple[int, int, int, int, int], int]]:
    """[((H, W, C_in, C_out, k), layers with that shape)] of the model's stride-1, undilated, ``same``-padded
    Conv2D layers with an odd square kernel and at most ``max_pixels`` input pixels, largest input first."""
    import keras

    def layers(m):
        for layer in getattr(m, "layers", ()):
            yield layer
            yield from layers(layer)

    seen: collections.Counter = collections.Counter()
    for layer in layers(model):
        if not isinstance(layer, keras.layers.Conv2D) or isinstance(layer, keras.layers.Conv2DTranspose):
            continue
        k = tuple(layer.kernel_size)
        shape = layer.input.shape
        if (len(shape) != 4 or tuple(layer.strides) != (1, 1) or tuple(layer.dilation_rate) != (1, 1)
                or layer.padding != "same" or k[0] != k[1] or k[0] % 2 == 0 or layer.groups != 1):
            continue
        h, w, c = (int(d) for d in shape[1:])
        if h * w <= max_pixels:
            seen[(h, w, c, int(layer.filters), k[0])] += 1
    return sorted(seen.items(), key=lambda kv: (-kv[0][0] * kv[0][1], -kv[0][2], -kv[0][3]))


def shape_paths(batch: int, shape: tuple, graph: bool, seed: int = 0) -> dict:
    """{path name: callable} for one shape: ``xla_conv``, ``xla_matmul`` and with ``graph`` ``graph_conv``,
    ``graph_matmul``; each returns the forward output and both gradients as numpy arrays."""
    import keras
    import numpy as np
    import tensorflow as tf

    from facehalluc.utils.fastpath import small_convs_as_matmul

    h, w, c, c_out, k = shape
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal((batch, h, w, c)).astype("float32"))
    kern = tf.constant((rng.standard_normal((k, k, c, c_out)) / np.sqrt(k * k * c)).astype("float32"))
    probe = tf.constant(rng.standard_normal((batch, h, w, c_out)).astype("float32"))

    def make(matmul: bool, jit: bool):
        def f(x, kern):
            with small_convs_as_matmul(matmul), tf.GradientTape() as tape:
                tape.watch([x, kern])
                y = keras.ops.conv(x, kern, 1, "same")
                loss = tf.reduce_sum(y * probe)
            return [y, *tape.gradient(loss, [x, kern])]
        fn = tf.function(f, jit_compile=jit)
        return lambda: [t.numpy() for t in fn(x, kern)]

    paths = {"xla_conv": make(False, True), "xla_matmul": make(True, True)}
    if graph:
        paths.update(graph_conv=make(False, False), graph_matmul=make(True, False))
    return paths


def fits_rule(shape: tuple) -> bool:
    """Whether ``small_convs_as_matmul`` turns this shape's convolution into a product (its own predicate, asked
    with symbolic tensors of the shape)."""
    import keras

    from facehalluc.utils import fastpath

    h, w, c, c_out, k = shape
    return fastpath._matmul_conv_fits(keras.KerasTensor((None, h, w, c)), keras.KerasTensor((k, k, c, c_out)),
                                      1, "same", None, 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="paper")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--max-pixels", type=int, default=1024, help="largest input (H*W) timed")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--graph", action="store_true", help="also graph mode (oneDNN's convolution vs the product)")
    p.add_argument("--isa", choices=["native", "avx2", "avx512"], default="native",
                   help="cap the run-time instruction set of oneDNN and XLA (an emulation of another CPU kind on "
                        "this machine, not a measurement of it; bench_vs_torch.py --isa)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bench_vs_torch import cap_isa, commit, machine, write_result
    from facehalluc.utils.fastpath import prefer_onednn

    isa_env = cap_isa(args.isa)  # before TensorFlow starts
    prefer_onednn()
    import numpy as np
    from facehalluc.config import load_config
    from facehalluc.models import build_cascade
    from facehalluc.utils import fastpath

    cfg = load_config(args.config, ["weights.allow_random=true"])
    shapes = conv_shapes(build_cascade(cfg), args.max_pixels)
    info = {"command": "python benchmarks/bench_conv_matmul.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
            "rule": {"max_pixels": fastpath.CONV_MATMUL_MAX_PIXELS, "min_channels": fastpath.CONV_MATMUL_MIN_CHANNELS},
            "isa_cap": {"isa": args.isa, "env": isa_env, "note": "emulated: instruction set capped on this machine"}
            if isa_env else None,
            "shapes": []}
    totals: collections.Counter = collections.Counter()
    print(f"config {cfg.name}, batch {args.batch}: {len(shapes)} shapes; ms per forward + both gradients, "
          f"median of {args.rounds} rounds; rule = product where H*W <= {fastpath.CONV_MATMUL_MAX_PIXELS} and "
          f"C_in, C_out >= {fastpath.CONV_MATMUL_MIN_CHANNELS}", flush=True)
    for shape, layers in shapes:
        paths = shape_paths(args.batch, shape, args.graph)
        outs = {n: f() for n, f in paths.items()}  # trace / compile, and the values to compare
        ref = outs["xla_conv"]
        rel = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for o in outs.values() for a, b in zip(o, ref))
        times: dict = {n: [] for n in paths}
        names = list(paths)
        for r in range(args.rounds):
            for n in names[r % len(names):] + names[:r % len(names)]:
                t0 = time.perf_counter()
                paths[n]()
                times[n].append(time.perf_counter() - t0)
        med = {n: statistics.median(v) * 1e3 for n, v in times.items()}
        for n, ms in med.items():
            totals[n] += ms * layers
        h, w, c, c_out, k = shape
        rule = "product" if fits_rule(shape) else "conv"
        row = "  ".join(f"{n} {ms:7.1f}" for n, ms in med.items())
        print(f"{h:3d}x{w:<3d} {c:4d}->{c_out:<4d} k{k} x{layers:<2d} [{rule:7s}] {row}  "
              f"conv/product (XLA) {med['xla_conv'] / med['xla_matmul']:.2f}x  max rel diff {rel:.1e}", flush=True)
        info["shapes"].append({"h": h, "w": w, "c_in": c, "c_out": c_out, "k": k, "layers": layers, "rule": rule,
                               "ms": med, "seconds": times, "max_rel_diff": rel})
    info["weighted_total_ms"] = dict(totals)
    print("layer-weighted totals, ms: " + "  ".join(f"{n} {v:.0f}" for n, v in totals.items()))
    if args.json:
        write_result(args.json, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
