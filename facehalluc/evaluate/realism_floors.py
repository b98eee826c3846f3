"""Reference points of the training-free realism measures on real photos: the floor and what blur does.

    python -m facehalluc.evaluate.realism_floors --data work_data/lfw.h5 --split test \
        --out results/realism/floors_test.json

For the faces of one split it reports, for :func:`facehalluc.evaluate.realism.nss_fd` and the contrast ratio:

* ``real_halves``: the even-indexed faces against the odd-indexed ones (the floor; N/2 per side, so its
  small-sample bias is larger than at N per side);
* ``blur_sigma_{1,2,4}``: every photo against itself with the hallucinated region Gaussian-blurred (pixels);
* ``median_fill``: the shipped model's training-split median face pasted around each face (the simplest fill).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from facehalluc.evaluate import realism as R


def floors(aligned: np.ndarray, masks: np.ndarray, median: np.ndarray | None = None) -> dict[str, dict]:
    out: dict[str, dict] = {}
    feats = R.nss_features(aligned, masks)
    contrast = R.region_contrast(aligned, masks)
    ev, od = slice(0, None, 2), slice(1, None, 2)
    out["real_halves"] = {"nss_fd": R.nss_fd(feats[ev], feats[od]),
                          "contrast_ratio": float(contrast[od].mean() / contrast[ev].mean()),
                          "n_per_side": int(len(feats[od]))}
    for s in (1.0, 2.0, 4.0):
        r = R.realism_compare(aligned, R.blur_region(aligned, masks, s), masks)
        out[f"blur_sigma_{s:g}"] = {"nss_fd": r.nss_fd, "contrast_ratio": r.contrast_ratio, "n": len(aligned)}
    if median is not None:
        face = masks.astype(bool)[..., None]
        filled = np.where(face, aligned, median[None])
        r = R.realism_compare(aligned, filled, masks)
        out["median_fill"] = {"nss_fd": r.nss_fd, "contrast_ratio": r.contrast_ratio, "n": len(aligned)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.realism_floors", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="prepared dataset .h5")
    ap.add_argument("--split", default="val", choices=("train", "val", "test"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", required=True, help="result JSON")
    args = ap.parse_args(argv)
    from facehalluc.data import read_arrays
    from facehalluc.utils.atomic import atomic_write_text

    arr = read_arrays(args.data, args.split)
    n = len(arr.aligned) if args.limit is None else min(args.limit, len(arr.aligned))
    median = None
    try:
        from facehalluc.store.packed import read_train_median

        median = read_train_median()
    except Exception as e:  # noqa: BLE001 - the median row is optional
        print(f"realism_floors: no median fill row ({e})", file=sys.stderr)
    res = floors(arr.aligned[:n], arr.mask[:n], median)
    doc = {"data": str(args.data), "split": args.split, "n": n, "command": " ".join(["python -m",
           "facehalluc.evaluate.realism_floors", *(argv if argv is not None else sys.argv[1:])]), "rows": res}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(args.out), json.dumps(doc, indent=2) + "\n")
    for k, v in res.items():
        print(f"{k:16s} nss_fd {v['nss_fd']:8.2f}   contrast_ratio {v['contrast_ratio']:.3f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
