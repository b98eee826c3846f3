#!/usr/bin/env python
"""The real-vs-real tolerance of the background-spectrum measure, written to a result file.

    python benchmarks/spectrum_tolerance.py --data work_data/lfw.h5 [--draws 5] [--boot 200] \
        --out results/spectrum/tolerance_val.json

The same computation as ``python -m facehalluc.evaluate.spectrum_tolerance`` (which only prints): the val
split's background-corner spectra against ``--draws`` random sets of as many *train* photos (other people),
and a ``--boot``-fold bootstrap of the val set against itself, seed 0. The result file holds every draw's HF
and mid-band excess in dB, the bootstrap's 2.5 / 97.5 percentiles, the set sizes, the command, the git
commit, the library versions, the machine and the date.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="prepared dataset .h5")
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--out", type=Path, help="result JSON (default: print only)")
    args = ap.parse_args(argv)

    import h5py

    from facehalluc.data.schema import split_code
    from facehalluc.evaluate.offline import HF_BAND, MID_BAND
    from facehalluc.evaluate.spectrum_tolerance import real_vs_real
    from facehalluc.utils.provenance import git_state, library_versions, machine

    t0 = time.perf_counter()
    r = real_vs_real(args.data, args.draws, args.boot)
    with h5py.File(args.data, "r") as f:
        n_val = int((f["split"][()] == split_code("val", args.data)).sum())
    res: dict = {"what": "background-corner log-power excess (dB) of real photos against the val split's real photos: "
                         "random same-size train sets, and a bootstrap of val against itself (seed 0)",
                 "data": args.data, "split": "val", "n_val": n_val, "draws": args.draws, "boot": args.boot,
                 "hf_band": list(HF_BAND), "mid_band": list(MID_BAND)}
    for band in ("hf", "mid"):
        d = np.asarray(r[f"train_vs_val_{band}"])
        lo, hi = np.percentile(r[f"boot_{band}"], [2.5, 97.5])
        res[band] = {"train_vs_val_db": [float(x) for x in d], "train_vs_val_max_abs_db": float(np.abs(d).max()),
                     "val_bootstrap_95_db": [float(lo), float(hi)]}
        print(f"{band}: train-vs-val real sets {', '.join(f'{x:+.2f}' for x in d)} dB (max |.| {np.abs(d).max():.2f}); "
              f"val bootstrap 95% [{lo:+.2f}, {hi:+.2f}] dB")
    res.update({"seconds": round(time.perf_counter() - t0, 1),
                "command": "python " + " ".join([str(Path(__file__).resolve().relative_to(ROOT)), *argv]),
                "git": git_state(ROOT), "libraries": library_versions(), "machine": machine(),
                "date": time.strftime("%Y-%m-%d", time.gmtime())})
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
