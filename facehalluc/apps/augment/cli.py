"""``python -m facehalluc.augment`` / ``python -m facehalluc.apps.augment``: the command line of
:mod:`facehalluc.apps.augment` (see its docstring)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __doc__ as AUGMENT_DOC
from .batch import augment
from .jobs import MANIFEST, SKIPPED, AugmentError, model_path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facehalluc.augment", description=AUGMENT_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="'default' (the shipped model), a "
                   "training run directory or an exported SavedModel directory")
    p.add_argument("--weights", help="weights file for a run directory (e.g. a snapshot)")
    p.add_argument("--src", required=True, help="photos, one folder per identity (Person/photo.jpg)")
    p.add_argument("--out", required=True, help="output folder (same layout, .png)")
    p.add_argument("--workers", type=int, default=0, help="preprocessing processes (0 = in this process)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--limit", type=int, default=None, help="only the first N photos (sorted by path)")
    p.add_argument("--batch-size", type=int, default=16, help="generator batch size")
    p.add_argument("--per-face", type=int, default=1, metavar="K", help="hallucinations per photo "
                   "(a style-noise generator, e.g. --config sampling): Person/photo_sample{j}.png, j < K")
    p.add_argument("--seed", type=int, default=0, help="noise seed (sample j of a photo: default_rng((seed, j, "
                   "crc32(path))))")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        resolved = model_path(args.model)
    except AugmentError as e:
        print(f"augment: {e}", file=sys.stderr)
        return 2
    if not Path(args.src).is_dir():
        print(f"augment: --src {args.src}: source folder not found", file=sys.stderr)
        return 2
    from ...utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    from ...infer.engine import ModelPathError, load_hallucinator

    try:
        model = load_hallucinator(resolved, args.weights)
    except (ModelPathError, OSError, RuntimeError, ValueError) as e:
        print(f"augment: cannot load model: {e}", file=sys.stderr)
        return 2
    try:
        report = augment(model, args.src, args.out, workers=args.workers, resume=args.resume,
                         limit=args.limit, batch_size=args.batch_size, progress=not args.no_progress,
                         per_face=args.per_face, seed=args.seed)
    except AugmentError as e:
        print(f"augment: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"manifest: {Path(args.out) / MANIFEST}; skipped: {Path(args.out) / SKIPPED}")
    return 0 if report.n_ok > 0 or report.n_files == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
