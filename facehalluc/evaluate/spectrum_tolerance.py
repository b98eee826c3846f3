"""How much two sets of *real* photos differ on the background-spectrum measure: the tolerance for "close".

    python -m facehalluc.evaluate.spectrum_tolerance --data work_data/lfw.h5 [--draws 5] [--boot 200]

Compares the val split's corner spectra (the reference every method is scored against) with ``--draws``
random sets of the same size from the *train* split (other people, other photos), and bootstraps the val
set against itself.  A method whose HF / mid-band excess lies within these real-vs-real differences has a
background spectrum indistinguishable from real photos' at this sample size.
"""
from __future__ import annotations


import h5py
import numpy as np

from facehalluc.evaluate.offline import HF_BAND, MID_BAND, band_excess_db, corner_spectra, usable_corners


def _band_db(p: np.ndarray, q: np.ndarray, band: tuple[int, int]) -> float:
    return float(band_excess_db(p, q, band))


def real_vs_real(h5: str, draws: int = 5, boot: int = 200, seed: int = 0) -> dict[str, list[float]]:
    from facehalluc.data.schema import split_code

    rng = np.random.default_rng(seed)
    with h5py.File(h5, "r") as f:
        split = f["split"][()]
        val = np.flatnonzero(split == split_code("val", h5))
        train = np.flatnonzero(split == split_code("train", h5))

        def spectra(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return corner_spectra(f["aligned"][idx]), usable_corners(f["mask"][idx])

        sv, uv = spectra(val)
        p_val = sv[uv].mean(axis=0)
        out: dict[str, list[float]] = {"train_vs_val_hf": [], "train_vs_val_mid": [], "boot_hf": [], "boot_mid": []}
        for _ in range(draws):
            st, ut = spectra(np.sort(rng.choice(train, len(val), replace=False)))
            p = st[ut].mean(axis=0)
            out["train_vs_val_hf"].append(_band_db(p, p_val, HF_BAND))
            out["train_vs_val_mid"].append(_band_db(p, p_val, MID_BAND))
    for _ in range(boot):
        i = rng.integers(0, len(val), len(val))
        p = sv[i][uv[i]].mean(axis=0)
        out["boot_hf"].append(_band_db(p, p_val, HF_BAND))
        out["boot_mid"].append(_band_db(p, p_val, MID_BAND))
    return out


if __name__ == "__main__":  # the command line: facehalluc.evaluate.cli.spectrum_tolerance
    from facehalluc.evaluate.cli.spectrum_tolerance import main

    raise SystemExit(main())
