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


if __name__ == "__main__":  # the command line: facehalluc.evaluate.cli.realism_floors
    from facehalluc.evaluate.cli.realism_floors import main

    raise SystemExit(main())
