"""``python -m facehalluc.evaluate.baselines``: the command line of
:mod:`facehalluc.evaluate.baselines` (see its docstring)."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Sequence

from facehalluc.evaluate import baselines as _lib
from facehalluc.evaluate.baselines import BaselineError, METHODS, baseline_grid, write_baselines


# --------------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.baselines", description=_lib.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="prepared dataset .h5")
    ap.add_argument("--split", default="val", choices=("train", "val", "test"), help="faces to fill (default val)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--limit", type=int, help="only the first N faces of the split (file order)")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma list (default {','.join(METHODS)})")
    ap.add_argument("--grid", help="also write a PNG grid of the sample_indices faces (real | each method)")
    ap.add_argument("--grid-n", type=int, default=8, help="faces in the grid (default 8)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        t0 = time.perf_counter()
        manifest = write_baselines(args.data, args.out, args.split, methods, args.limit, not args.quiet)
        print(f"wrote {manifest['n_faces']} faces x {len(methods)} methods to {args.out} in "
              f"{time.perf_counter() - t0:.1f} s")
        for m, s in manifest["fill_seconds_per_face"].items():  # type: ignore[union-attr]
            print(f"  {m:<12} {s * 1000:8.1f} ms/face (fill only)")
        if args.grid:
            print(f"grid: {baseline_grid(args.data, args.out, args.grid, args.grid_n, args.split, methods)}")
    except (BaselineError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
