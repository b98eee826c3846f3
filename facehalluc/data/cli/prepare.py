"""``python -m facehalluc.data.prepare``: the command line of :mod:`facehalluc.data.prepare` (see its docstring)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from ...config import load_config
from ..prepare import PrepareError, prepare_dataset


# --------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="data/prepare.py",
        description="Detect, align and mask every face photo under --src and write one HDF5 dataset "
                    "(paper §4 'Training Data').  Writes OUT, OUT.skipped.csv and OUT.report.json "
                    "(OUT without .h5 suffix); unfinished work lives in OUT.partial/ (see --resume).")
    p.add_argument("--src", required=True, help="folder of photos (Person/Person_0001.jpg or flat)")
    p.add_argument("--out", required=True, help="output .h5 file")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)),
                   help="worker processes (0 = run in this process); default: number of CPUs")
    p.add_argument("--limit", type=int, default=None, help="only the first N files (sorted by path)")
    p.add_argument("--val-fraction", type=float, default=None,
                   help="share of identities (or images) held out as val; default data.val_fraction")
    p.add_argument("--split-by", choices=("identity", "image"), default=None,
                   help="hash the identity (subject-disjoint split) or the file; default data.split_by")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT.partial/")
    p.add_argument("--restart", action="store_true", help="discard an existing OUT.partial/ and start over")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing OUT (and discard an unfinished run unless --resume)")
    p.add_argument("--chunk-size", type=int, default=64, help="files per committed chunk (default 64)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--config", default="paper", help="preset name or YAML file (default: paper)")
    p.add_argument("overrides", nargs="*", help="config overrides, e.g. preprocess.eye_y=0.42")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from ...config import ConfigError
    from ...preprocess import LandmarkModelError

    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
        result = prepare_dataset(args.src, args.out, cfg, workers=args.workers, limit=args.limit,
                                 val_fraction=args.val_fraction, split_by=args.split_by, resume=args.resume,
                                 restart=args.restart, overwrite=args.overwrite, chunk_size=args.chunk_size,
                                 progress=not args.no_progress)
    except (PrepareError, ConfigError, LandmarkModelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted; finished chunks are kept in {Path(args.out)}.partial/ - rerun with --resume",
              file=sys.stderr)
        return 130
    print(result.summary())
    print(f"report: {result.report_path}; skipped files: {result.skipped_path}")
    return 0


def run_command() -> None:
    """``python -m``: TensorFlow's start-up chatter off, then :func:`main`; exits with its status."""
    from ...utils.quiet import run_quietly

    run_quietly(main)


if __name__ == "__main__":
    run_command()
