"""``python -m facehalluc.recognition.experiment`` / ``python -m facehalluc.apps.recognition``: the command line
of :mod:`facehalluc.apps.recognition.experiment` (see its docstring)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from . import data as rdata
from .experiment import ARMS, ExperimentError, run_experiment
from .model import ARCHS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m facehalluc.recognition.experiment",
        description="Paper Table 2: train a face recognizer on real vs real + hallucinated faces and compare "
                    "verification TPR@FPR=0.01 (see docs/augmentation.md).")
    p.add_argument("--data", required=True, help="prepared HDF5 dataset (data/prepare.py) with the training faces")
    p.add_argument("--model", default="default",
                   help="generator: 'default' (shipped), a training run directory or a SavedModel")
    p.add_argument("--halluc-dir", default=None,
                   help="use this facehalluc.augment output folder (manifest.csv) for the hallucinated copies "
                        "instead of running --model")
    p.add_argument("--out", required=True, help="output folder (created; reused to resume)")
    p.add_argument("--min-images", type=int, default=5, help="train identities with at least K faces (default 5)")
    p.add_argument("--max-identities", type=int, default=None, help="keep the N identities with most faces")
    p.add_argument("--train-split", choices=tuple(rdata.SPLITS), default="train")
    p.add_argument("--eval-data", default=None, help="HDF5 dataset of the test faces (default: --data)")
    p.add_argument("--eval-split", choices=tuple(rdata.SPLITS), default="val")
    p.add_argument("--max-impostors", type=int, default=None,
                   help="sample this many impostor pairs (default: all-vs-all)")
    p.add_argument("--size", type=int, default=64, help="network input size in pixels (default 64)")
    p.add_argument("--epochs", type=int, default=15,
                   help="epochs over the real training faces (sets the step budget, see --budget)")
    p.add_argument("--budget", choices=("steps", "epochs"), default="steps",
                   help="steps: every arm gets epochs x ceil(n_real / batch) steps (default); "
                        "epochs: every arm makes --epochs passes over its own training set")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arms", nargs="+", choices=ARMS, default=["real", "real+halluc"],
                   help="real, real+halluc (Table 2), and the control real+masked (not in the paper: the "
                        "generator's input, black outside the face, as the added copy)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05, help="peak SGD learning rate (default 0.05)")
    p.add_argument("--arch", choices=ARCHS, default="resnet",
                   help="resnet: the small ResNet; resnet50: keras.applications.ResNet50(weights=None)")
    p.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128], help="small ResNet stage widths")
    p.add_argument("--blocks", type=int, default=1, help="small ResNet residual blocks per stage")
    p.add_argument("--stem-stride", type=int, default=2, choices=(1, 2))
    p.add_argument("--embedding-dim", type=int, default=128, help="penultimate feature size (paper: 256)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--halluc-batch", type=int, default=32, help="generator batch size")
    p.add_argument("--copies", type=int, default=1, metavar="K",
                   help="hallucinated copies per training face (a style-noise generator, e.g. --config sampling; "
                        "copy j of dataset row r uses noise default_rng((--noise-seed, j, r))); default 1")
    p.add_argument("--noise-seed", type=int, default=0, help="noise seed of the copies (style-noise generators)")
    p.add_argument("--no-save-weights", action="store_true", help="do not keep the trained networks' weights")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p



def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        res = run_experiment(args, argv)
    except (ExperimentError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print((Path(args.out) / "table.md").read_text(encoding="utf-8"))
    print(f"results: {Path(args.out) / 'results.json'} (this invocation: "
          f"{res['wall_seconds']['this_invocation']:.0f} s)")
    return 0


def run_command() -> None:
    """``python -m``: TensorFlow's start-up chatter off, then :func:`main`; exits with its status."""
    from ...utils.quiet import run_quietly

    run_quietly(main)


if __name__ == "__main__":
    run_command()
