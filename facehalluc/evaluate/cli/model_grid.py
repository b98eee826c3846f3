"""``python -m facehalluc.evaluate.model_grid``: the command line of
:mod:`facehalluc.evaluate.model_grid` (see its docstring)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from facehalluc.evaluate import model_grid as _lib
from facehalluc.evaluate.model_grid import model_grid


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.model_grid", description=_lib.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", action="append", required=True, metavar="[NAME=]RUN_DIR|SAVEDMODEL")
    ap.add_argument("--out", required=True)
    ap.add_argument("--baselines", help="folder written by facehalluc.evaluate.baselines (adds its fills)")
    ap.add_argument("--blocks", action="store_true", help="one model: every block's output")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--split", default="val", choices=("train", "val", "test"))
    ap.add_argument("--samples", type=int, default=1, metavar="K", help="K columns per style-noise model")
    ap.add_argument("--seed", type=int, default=0, help="noise seed of --samples")
    args = ap.parse_args(argv)
    models = {}
    for m in args.model:
        name, _, run = m.rpartition("=")
        models[name or Path(run).name] = run
    print(model_grid(args.data, models, args.out, args.n, args.split, args.baselines, args.blocks,
                     samples=args.samples, seed=args.seed))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
