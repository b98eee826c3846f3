#!/usr/bin/env python
"""Time one training step (D update + G update over every block) and relate it to the machine's matmul speed.

    .venv/bin/python benchmarks/bench_train_step.py --config tiny --batch 4 --steps 5
    .venv/bin/python benchmarks/bench_train_step.py --config paper --batch 2 --steps 2   # random frozen nets

Prints s/step, images/s, the step's analytic GFLOPs, achieved GFLOP/s and the ratio to
``tf.matmul`` GFLOP/s measured in the same process.

FLOP accounting (multiply and add counted separately; convs and dense layers only, from
``facehalluc.models.model_flops``), per image:

* generator (cascade, or the top block for progan): forward x 3 (forward + gradients w.r.t.
  activations and weights);
* discriminator update: two calls (real and fake) x 3;
* discriminator inside the generator loss: x 2 (forward + gradients w.r.t. its input only);
* LPIPS (blocks r >= pc_min_resolution): target image forward x 1, generated image x 2
  (forward + input gradients; the frozen weights get no gradients);
* VGG-Face at ``loss.id_input_size``: the same, target x 1, generated x 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def matmul_gflops(n: int = 2048, reps: int = 10) -> float:
    import tensorflow as tf

    a = tf.random.uniform((n, n))
    b = tf.random.uniform((n, n))
    f = tf.function(lambda x, y: tf.matmul(x, y))
    f(a, b).numpy()
    t0 = time.perf_counter()
    for _ in range(reps):
        c = f(a, b)
    c.numpy()
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def lpips_flops(resolution: int) -> int:
    """AlexNet-LPIPS forward FLOPs for one image at ``resolution`` (fixed-size copy of its layers)."""
    import keras

    from facehalluc.models import model_flops
    from facehalluc.nets.lpips import _alexnet_layers

    x = inp = keras.Input((resolution, resolution, 3))
    lins = []
    for _, seq in _alexnet_layers():
        for lay in seq:
            x = lay(x)
        lins.append(keras.layers.Conv2D(1, 1, use_bias=False)(x))
    return model_flops(keras.Model(inp, lins))


def step_flops(cfg, trainer) -> dict[str, float]:
    from facehalluc.models import model_flops
    from facehalluc.nets import build_vggface

    out = {"generator": 3.0 * model_flops(trainer.generator)}
    d = sum(model_flops(m) for m in trainer.disc_list)
    out["discriminators"] = (2 * 3 + 2) * d
    lc = cfg.loss
    pc = sum(lpips_flops(r) for r in trainer.resolutions if lc.use_pc and r >= lc.pc_min_resolution)
    out["lpips"] = 3.0 * pc
    n_id = sum(1 for r in trainer.resolutions if lc.use_id and r >= lc.id_min_resolution)
    vgg = model_flops(build_vggface(lc.id_input_size, resize=False, initializer="zeros")) if n_id else 0
    out["vggface"] = 3.0 * vgg * n_id
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="tiny")
    p.add_argument("--batch", type=int, default=None, help="default: train.batch_size of the config")
    p.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up step")
    p.add_argument("--xla", action="store_true", help="jit_compile the train step")
    p.add_argument("--threads", type=int, default=0, help="intra/inter-op threads (0 = TF default)")
    p.add_argument("--precision", choices=("float32", "bf16", "fp16"), default="float32",
                   help="keras mixed-precision policy for the step (train.py --mixed-precision)")
    p.add_argument("overrides", nargs="*")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, args.threads // 2))
    import keras

    from facehalluc.config import load_config
    from facehalluc.losses import build_loss_networks
    from facehalluc.train.run_dir import build_generator
    from facehalluc.train.trainer import (GANTrainer, build_discriminators, build_stage_generator,
                                          make_optimizers)

    cfg = load_config(args.config, ["weights.allow_random=true", *args.overrides])
    if args.precision != "float32":
        keras.mixed_precision.set_global_policy("mixed_bfloat16" if args.precision == "bf16" else "mixed_float16")
    bs = args.batch or cfg.train.batch_size
    res = tuple(cfg.model.resolutions)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batch = {}
    for r in res:
        full = rng.uniform(0, 1, (bs, r, r, 3)).astype("float32")
        mask = np.zeros((bs, r, r, 1), "float32")
        mask[:, r // 4: 3 * r // 4, r // 4: 3 * r // 4] = 1
        batch.update({f"full_{r}": full, f"masked_{r}": full * mask, f"mask_{r}": mask})
    batch = {k: tf.constant(v) for k, v in batch.items()}

    mm = matmul_gflops()
    t0 = time.perf_counter()
    if cfg.train.regime == "progan":
        top = res[-1]
        gen = build_stage_generator(build_generator(cfg), top, cfg)
        stage = (top,)
    else:
        gen = build_generator(cfg)
        stage = res
    trainer = GANTrainer(gen, build_discriminators(stage, cfg), cfg, build_loss_networks(cfg))
    trainer.compile(*make_optimizers(cfg), jit_compile=args.xla)
    build_s = time.perf_counter() - t0
    step = tf.function(trainer.train_step, jit_compile=args.xla or None)
    t0 = time.perf_counter()
    logs = step(batch)
    float(logs["g_total"])
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        logs = step(batch)
    float(logs["g_total"])
    s_step = (time.perf_counter() - t0) / args.steps
    fl = step_flops(cfg, trainer)
    gflop_img = sum(fl.values()) / 1e9
    gflop = gflop_img * bs
    print(f"config={cfg.name} regime={cfg.train.regime} batch={bs} xla={args.xla} threads={args.threads or 'default'} "
          f"precision={args.precision} "
          f"params(G)={trainer.generator.count_params() / 1e6:.1f}M")
    print(f"build {build_s:.1f} s; trace + first step {first_s:.1f} s")
    print(f"s/step {s_step:.3f}   images/s {bs / s_step:.2f}")
    print("GFLOPs per image: " + ", ".join(f"{k} {v / 1e9:.3f}" for k, v in fl.items()) + f"; total {gflop_img:.3f}")
    print(f"GFLOPs per step {gflop:.2f}   achieved GFLOP/s {gflop / s_step:.1f}   "
          f"matmul GFLOP/s {mm:.1f}   ratio {gflop / s_step / mm:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
