"""Offline baselines: the background fills a user could use instead of the model, written as images to score.

    python -m facehalluc.evaluate.baselines --data FILE.h5 --split val --out DIR [--limit N]
        [--methods masked,median_fill,telea,ns,biharmonic] [--grid PNG]

For every face of the split (in file order; the first ``--limit``) it writes ``DIR/<method>/<name>.png`` for
each method, plus ``DIR/real/<name>.png`` (the aligned original) and ``DIR/mask/<name>.png`` (face mask,
0/255).  ``<name>`` is the face's position in the split, zero-padded -- the names ``evaluate.py --model``
gives its pairs -- so ``evaluate.py --real DIR/real --fake DIR/<method>`` scores a baseline (the mask folder
beside ``real`` is found automatically) and a model's ``<out stem>_images/fake`` pairs with ``DIR/real``.
``DIR/index.csv`` maps names to dataset rows / source files; ``DIR/baselines.json`` records the settings and
wall times.

Methods (every one keeps the face pixels exactly: the output is composited with the masked input):

* ``masked`` -- the masked input itself (black background).
* ``median_fill`` -- the per-pixel, per-channel median of **all** aligned images of the *train* split (exact,
  streamed with 256-bin histograms; ``np.median`` semantics, the mean of the two middle values for an even
  count, rounded half-to-even to uint8) outside the mask.
* ``telea`` / ``ns`` -- OpenCV ``cv2.inpaint`` (Telea's fast marching / Navier-Stokes) of everything outside
  the mask, radius :data:`INPAINT_RADIUS` px, on the full-resolution 128x128 masked input.
* ``biharmonic`` -- scikit-image ``inpaint_biharmonic`` (``channel_axis=-1``) of everything outside the mask
  at full resolution (no downscaling; ~0.15 s per face on one CPU core).

Images are written atomically (temporary file + rename).  :func:`sample_indices` picks the faces of the
documentation grids deterministically.
"""
from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path
from typing import Callable, Sequence

import h5py
import numpy as np

from facehalluc.utils.atomic import atomic_path
from facehalluc.utils.image import figure_grid, to_float, to_uint8, write_image

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("masked", "median_fill", "telea", "ns", "biharmonic")
#: OpenCV inpainting radius (pixels): the neighbourhood each inpainted pixel is estimated from
INPAINT_RADIUS = 3
#: folders besides the methods'
REAL_DIR, MASK_DIR = "real", "mask"


class BaselineError(ValueError):
    """Bad arguments or an output folder that cannot be used."""


# --------------------------------------------------------------------------------------------- selection
def split_rows(h5: str | Path, split: str = "val") -> np.ndarray:
    """File rows of the faces of ``split``, ascending (the order of ``read_arrays`` / ``evaluate.py --model``)."""
    from facehalluc.data.schema import check_file, split_code

    check_file(h5)
    with h5py.File(h5, "r") as f:
        return np.flatnonzero(f["split"][()] == split_code(split, h5))


def sample_indices(h5: str | Path, n: int = 8, split: str = "val") -> np.ndarray:
    """File rows of ``n`` faces of ``split`` for figures: the first ``n`` after sorting by source path (ties:
    by row).  Deterministic and independent of the file's row order, so model grids can show the same faces.

    Map a row to its position in the split (the PNG name ``evaluate.py --model`` and this module write) with
    ``np.searchsorted(split_rows(h5, split), rows)``.
    """
    from facehalluc.data.schema import read_strings

    rows = split_rows(h5, split)
    if n < 1 or n > len(rows):
        raise BaselineError(f"{h5}: cannot sample {n} faces from the {len(rows)} of split {split!r}")
    with h5py.File(h5, "r") as f:
        src = read_strings(f, "source")
    order = sorted(rows.tolist(), key=lambda r: (src[r], r))
    return np.asarray(order[:n], dtype=np.int64)


def face_names(n: int) -> list[str]:
    """PNG stems of the first ``n`` faces of a split: zero-padded positions, as ``evaluate.generate``."""
    width = len(str(n - 1))
    return [f"{i:0{width}d}" for i in range(n)]


# --------------------------------------------------------------------------------------------- fills
def composite(fill: np.ndarray, masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``masked`` where ``mask`` is set (the face, unchanged), ``fill`` elsewhere; uint8 (H, W, 3)."""
    return np.where(np.asarray(mask, bool)[..., None], masked, fill).astype(np.uint8)


def train_median(h5: str | Path, chunk: int = 256, progress: bool = False) -> tuple[np.ndarray, int]:
    """Exact per-pixel, per-channel median of the train split's ``/aligned`` images -> (float64 (128,128,3), N).

    Streams the file in row blocks, counting each pixel-channel's 256 values; the median is the mean of the
    order statistics ``(N-1)//2`` and ``N//2`` (``np.median``).
    """
    from tqdm import tqdm

    from facehalluc.data.schema import TRAIN, check_file

    check_file(h5)
    with h5py.File(h5, "r") as f:
        split = f["split"][()]
        n_train = int((split == TRAIN).sum())
        if n_train == 0:
            raise BaselineError(f"{h5}: the train split is empty; median_fill needs training images")
        shape = f["aligned"].shape[1:]
        n_px = int(np.prod(shape))
        counts = np.zeros(n_px * 256, np.int64)
        base = (np.arange(n_px, dtype=np.int64) * 256)[None]
        for start in tqdm(range(0, len(split), chunk), desc="train median", disable=not progress, unit="block"):
            sel = split[start:start + chunk] == TRAIN
            if not sel.any():
                continue
            block = f["aligned"][start:start + chunk][sel].reshape(int(sel.sum()), n_px)
            counts += np.bincount((base + block).ravel(), minlength=n_px * 256)
    cum = counts.reshape(n_px, 256).cumsum(axis=1)
    lo = (cum > (n_train - 1) // 2).argmax(axis=1)
    hi = (cum > n_train // 2).argmax(axis=1)
    return ((lo + hi) / 2.0).reshape(shape), n_train


def median_fill_image(median_u8: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    return lambda masked, mask: composite(median_u8, masked, mask)


def fill_masked(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return composite(masked, masked, mask)


def fill_opencv(masked: np.ndarray, mask: np.ndarray, method: str, radius: float = INPAINT_RADIUS) -> np.ndarray:
    import cv2

    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[method]
    hole = (np.asarray(mask) == 0).astype(np.uint8)
    out = cv2.inpaint(np.ascontiguousarray(masked, np.uint8), hole, radius, flag)
    return composite(out, masked, mask)


def fill_biharmonic(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from skimage.restoration import inpaint_biharmonic

    out = inpaint_biharmonic(to_float(masked, np.float64), np.asarray(mask) == 0, channel_axis=-1)
    return composite(to_uint8(out), masked, mask)


# --------------------------------------------------------------------------------------------- writing
def _check_out(out: Path, folders: Sequence[str], names: Sequence[str]) -> None:
    """Refuse to mix a new run with stale images of another size in the same folders."""
    from facehalluc.evaluate.images import IMAGE_SUFFIXES

    keep = set(names)
    for sub in folders:
        d = out / sub
        if not d.is_dir():
            continue
        stale = sorted(p.name for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.stem not in keep)
        if stale:
            raise BaselineError(f"{d} holds {len(stale)} image(s) this run would not overwrite "
                                f"({', '.join(stale[:5])}...): they would break the pairing; use an empty --out")


def write_baselines(h5: str | Path, out: str | Path, split: str = "val", methods: Sequence[str] = METHODS,
                    limit: int | None = None, progress: bool = True) -> dict[str, object]:
    """Writes ``out/{real,mask,<method>...}/<name>.png`` for the faces of ``split``; returns the manifest
    (also written to ``out/baselines.json``)."""
    from tqdm import tqdm

    from facehalluc.data.schema import read_strings

    h5, out = Path(h5), Path(out)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise BaselineError(f"unknown methods {bad}; choose from {', '.join(METHODS)}")
    rows = split_rows(h5, split)
    if limit is not None:
        if limit < 1:
            raise BaselineError(f"--limit must be >= 1, got {limit}")
        rows = rows[:limit]
    if len(rows) == 0:
        raise BaselineError(f"{h5}: split {split!r} holds no faces")
    names = face_names(len(rows))
    _check_out(out, [REAL_DIR, MASK_DIR, *methods], names)
    seconds: dict[str, float] = {m: 0.0 for m in methods}
    settings: dict[str, object] = {"inpaint_radius_px": INPAINT_RADIUS} if {"telea", "ns"} & set(methods) else {}
    fills: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {}
    for m in methods:
        if m == "masked":
            fills[m] = fill_masked
        elif m == "median_fill":
            t0 = time.perf_counter()
            median, n_train = train_median(h5, progress=progress)
            median_u8 = to_uint8(median, peak=255.0)  # half to even
            settings.update(median_train_images=n_train, median_train_seconds=round(time.perf_counter() - t0, 2),
                            median="exact per-pixel per-channel median of all "
                            "train-split /aligned images, rounded half-to-even")
            write_image(out / "median_train.png", median_u8)
            fills[m] = median_fill_image(median_u8)
        elif m in ("telea", "ns"):
            fills[m] = (lambda meth: lambda x, k: fill_opencv(x, k, meth))(m)
        elif m == "biharmonic":
            fills[m] = fill_biharmonic
            settings["biharmonic"] = "skimage.restoration.inpaint_biharmonic, full 128x128 resolution"
    with h5py.File(h5, "r") as f:
        src, ident = read_strings(f, "source"), read_strings(f, "identity")
        with atomic_path(out / "index.csv") as tmp:
            with tmp.open("w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["name", "row", "source", "identity"])
                w.writerows([n, int(r), src[r], ident[r]] for n, r in zip(names, rows))
        t_all = time.perf_counter()
        for name, row in tqdm(list(zip(names, rows)), desc=f"baselines ({', '.join(methods)})",
                              disable=not progress, unit="face"):
            aligned, masked, mask = f["aligned"][row], f["masked"][row], f["mask"][row]
            write_image(out / REAL_DIR / f"{name}.png", aligned)
            write_image(out / MASK_DIR / f"{name}.png", mask * np.uint8(255))
            for m, fill in fills.items():
                t0 = time.perf_counter()
                img = fill(masked, mask)
                seconds[m] += time.perf_counter() - t0
                write_image(out / m / f"{name}.png", img)
        wall = time.perf_counter() - t_all
    manifest: dict[str, object] = {
        "data": str(h5), "split": split, "n_faces": len(rows), "methods": list(methods),
        "names": "position in the split, zero-padded (as evaluate.py --model)", "settings": settings,
        "fill_seconds": {m: round(s, 3) for m, s in seconds.items()},
        "fill_seconds_per_face": {m: round(s / len(rows), 5) for m, s in seconds.items()},
        "loop_wall_seconds_incl_png_io": round(wall, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with atomic_path(out / "baselines.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


# --------------------------------------------------------------------------------------------- figure
def baseline_grid(h5: str | Path, out: str | Path, path: str | Path, n: int = 8, split: str = "val",
                  methods: Sequence[str] | None = None) -> Path:
    """Grid of the :func:`sample_indices` faces: real | masked | each baseline written under ``out``."""
    from facehalluc.evaluate.images import load_image

    out = Path(out)
    with (out / "index.csv").open() as fh:
        by_row = {int(r["row"]): (r["name"], r["source"]) for r in csv.DictReader(fh)}
    rows = sample_indices(h5, n, split)
    missing = [int(r) for r in rows if int(r) not in by_row]
    if missing:
        raise BaselineError(f"{out}: the grid's faces (rows {missing}) were not written; rerun without --limit")
    if methods is None:
        methods = [m for m in METHODS if (out / m).is_dir()]
    heads = [REAL_DIR] + [m for m in methods if m != REAL_DIR]
    cols = {h: [load_image(out / h / f"{by_row[int(r)][0]}.png") for r in rows] for h in heads}
    stems = [Path(by_row[int(r)][1]).stem for r in rows]  # LFW: Person_Name_0001 -> two lines
    labels = ["\n".join(s.rsplit("_", 1)) if "_" in s else s for s in stems]
    return figure_grid(cols, path, labels, title=f"{Path(h5).name}, {split}: first {n} faces by source path")


if __name__ == "__main__":  # the command line: facehalluc.evaluate.cli.baselines
    from facehalluc.evaluate.cli.baselines import main

    raise SystemExit(main())
