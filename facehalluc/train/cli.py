"""``train.py`` command line: parses arguments and calls :func:`facehalluc.train.run.train`.

Exit codes: 0 done; 2 bad arguments / missing weights or data (one-line message); 3 training
diverged (NaN guard; the last good checkpoint is intact); 4 ``--strategy multiworker``: another worker
died or hung (restart every worker with ``--resume``); 1 after a ``Timeout`` stack dump: not every worker
started within ``train.cluster_join_timeout_s``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..utils.quiet import quiet_tensorflow

EPILOG = """examples:
  train.py --config tiny --data work_data/lfw.h5 --out runs/tiny --epochs 5
  train.py --config paper --data work_data/lfw.h5 --out runs/paper            # needs converted weights
  train.py --config progan --data work_data/lfw.h5 --out runs/progan --epochs 50  # 50 epochs per stage
  train.py --out runs/tiny --data work_data/lfw.h5 --resume                   # continue after kill -9
  train.py --config realism --data work_data/lfw.h5 --out runs/realism --init-from default   # warm start
  train.py --config tiny --data d.h5 --out r train.batch_size=4 loss.lambda_id=5  # overrides
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train.py", description="Train the multi-scale face-hallucination GAN (cascade or ProGAN).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None,
                   help="preset (paper, progan, ablation_l2, ablation_no_adv, ablation_no_id, ablation_no_pc, "
                        "tiny) or a YAML file; with --resume defaults to RUN_DIR/config.yaml, else paper")
    p.add_argument("--data", required=True, help="HDF5 dataset written by data/prepare.py")
    p.add_argument("--out", required=True, help="run directory (config, checkpoints, samples, tb logs)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (cascade) or epochs per stage (progan); default from the config")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="generator updates per epoch (default: train examples // batch size)")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoint/state.h5")
    p.add_argument("--strategy", choices=["auto", "default", "mirrored", "multiworker"], default=None,
                   help="tf.distribute strategy (default: config train.strategy = auto)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="mixed_float16 compute with loss scaling (bfloat16: train.mixed_precision_dtype=bfloat16; "
                        "measured 1.09x on an AMX CPU, docs/performance.md)")
    p.add_argument("--init-from", default=None, metavar="default|RUN_DIR|PACKED_DIR",
                   help="start a new run's generator from trained weights (the shipped model, a run directory "
                        "or a packed folder); discriminators and optimizers start fresh; ignored with --resume")
    p.add_argument("--xla", dest="xla", action="store_const", const="on", default=None,
                   help="compile the train step with XLA (train.xla=on); default train.xla=auto: on where measured "
                        "faster on this CPU kind (docs/performance.md)")
    p.add_argument("--no-xla", dest="xla", action="store_const", const="off", help="graph mode (train.xla=off)")
    p.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1,
                   help="1 a progress bar with g_total, d_total, b128_pixel, b128_pc (all metrics go to "
                        "history.jsonl and TensorBoard); 2 one line per epoch (logs); 0 silent")
    p.add_argument("overrides", nargs="*", metavar="section.field=value", help="config overrides")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    from ..config import ConfigError, load_config

    overrides = list(args.overrides)
    if args.strategy:
        overrides.append(f"train.strategy={args.strategy}")
    if args.mixed_precision:
        overrides.append("train.mixed_precision=true")
    if args.xla:
        overrides.append(f"train.xla={args.xla}")
    config_name = args.config
    if config_name is None:
        saved = Path(args.out) / "config.yaml"
        config_name = str(saved) if (args.resume and saved.is_file()) else "paper"
    try:
        cfg = load_config(config_name, overrides)
    except ConfigError as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2

    # before TensorFlow starts (it reads TF_XLA_FLAGS once): element-wise XLA clusters around oneDNN's convolutions
    from ..utils import fastpath

    xla = fastpath.train_xla(cfg.train.xla, width_divisor=cfg.model.width_divisor)
    fastpath.enable_xla_elementwise(fastpath.train_xla_elementwise(
        cfg.train.xla_elementwise, xla.on, width_divisor=cfg.model.width_divisor))

    from ..store.spec import RunDirError, ShippedModelError
    from ..weights import MissingWeightsError
    from .callbacks import TrainingDiverged
    from .distribute import WorkerLost
    from .run import train

    try:
        result = train(cfg, args.out, args.data, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                       resume=args.resume, verbose=args.verbose, init_from=args.init_from)
    except MissingWeightsError as e:
        print(f"train.py: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except (RunDirError, ShippedModelError, FileNotFoundError, ValueError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"train.py: training diverged: {e}", file=sys.stderr)
        return 3
    except WorkerLost as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 4
    s = result.state
    weights = Path(args.out) / "generator.weights.h5"
    print(f"done: {s.global_step} steps, {s.epoch} epochs in {result.seconds:.0f} s; " +
          (f"generator: {weights}" if weights.is_file() else "this worker wrote nothing (the chief writes the run)"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
