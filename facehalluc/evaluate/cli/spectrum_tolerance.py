"""``python -m facehalluc.evaluate.spectrum_tolerance``: the command line of
:mod:`facehalluc.evaluate.spectrum_tolerance` (see its docstring)."""
from __future__ import annotations

import argparse
from typing import Sequence

import numpy as np

from facehalluc.evaluate import spectrum_tolerance as _lib
from facehalluc.evaluate.spectrum_tolerance import real_vs_real


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.spectrum_tolerance", description=_lib.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--boot", type=int, default=200)
    args = ap.parse_args(argv)
    r = real_vs_real(args.data, args.draws, args.boot)
    for band in ("hf", "mid"):
        d = np.asarray(r[f"train_vs_val_{band}"])
        b = np.percentile(r[f"boot_{band}"], [2.5, 97.5])
        print(f"{band}: train-vs-val real sets {', '.join(f'{x:+.2f}' for x in d)} dB (max |.| {np.abs(d).max():.2f}); "
              f"val bootstrap 95% [{b[0]:+.2f}, {b[1]:+.2f}] dB")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
