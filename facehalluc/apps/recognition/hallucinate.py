"""The hallucinated copies of the training faces (paper §4.4), made once and cached.

Every selected training face's ``masked`` input (black outside the landmark hull) and its ``mask``
go through the generator once (:func:`facehalluc.infer.load_hallucinator`, ``run(masked, mask)``);
the 128x128 ``out_128`` (face pixels = the input's, context and background hallucinated) is stored as
uint8 (``round(255 x)``) in an HDF5 cache::

    OUT/halluc_cache/<key>.h5    images (n,128,128,3) uint8, rows (n,) int64 (rows of the dataset file)

``key`` hashes the dataset file's fingerprint, the rows and the generator's fingerprint (sha256 of its
weight and config files), so a rerun with the same data and generator skips the work, and a new
generator (or another ``--min-images``) gets a new file.  The file is written under a temporary name and
renamed when complete (a killed run leaves no partial cache).

Alternatively the copies come from a folder written by ``python -m facehalluc.augment``
(:func:`load_augment_dir`): its ``manifest.csv`` maps each source photo (the dataset's ``source``
column when the dataset was prepared from the same folder) to its hallucinated PNG.
"""
from __future__ import annotations

import csv
import hashlib
import json
import time
from pathlib import Path

import h5py
import numpy as np

from ...utils.atomic import atomic_path
from ...utils.image import read_image, to_float, to_uint8
from ...weights import sha256_file
from .data import iter_blocks, resize_uint8

FINGERPRINT_FILES = ("config.yaml", "generator.weights.h5", "manifest.json", "generator.fp16.npz",
                     "facehalluc_config.yaml", "saved_model.pb", "fingerprint.pb")


def model_fingerprint(spec: str | Path) -> tuple[str, str]:
    """(resolved path, fingerprint) of a ``--model`` value: sha256 over its weight / config files."""
    from ...store.spec import resolve_model

    path = resolve_model(str(spec))  # "default" -> the shipped folder, anything else -> Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"--model {spec}: no such run directory or SavedModel")
    files = [path / n for n in FINGERPRINT_FILES if (path / n).is_file()]
    if (path / "variables").is_dir():
        files += sorted(p for p in (path / "variables").iterdir() if p.is_file())
    if not files:
        raise FileNotFoundError(f"--model {spec}: {path} holds no generator weights or config")
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + sha256_file(f).encode())
    return str(path), h.hexdigest()[:16]


def cache_key(data_fingerprint: str, rows: np.ndarray, model_fp: str) -> str:
    rows_hash = hashlib.sha256(np.asarray(rows, np.int64).tobytes()).hexdigest()
    return hashlib.sha256(f"{data_fingerprint}|{rows_hash}|{model_fp}".encode()).hexdigest()[:16]


def hallucinate_to_cache(data: str | Path, rows: np.ndarray, model: str | Path, cache: Path,
                         batch_size: int = 32, progress: bool = True, sample: int = 0, seed: int = 0) -> dict:
    """Runs the generator on the ``masked``/``mask`` of ``rows`` and writes ``cache`` (atomic).
    Returns the info stored in the cache's attributes (seconds, face-pixel check, ...).  A style-noise
    generator draws copy ``sample`` of dataset row r with noise ``default_rng((seed, sample, r))``."""
    from tqdm import tqdm

    from ...infer import load_hallucinator

    rows = np.asarray(rows, np.int64)
    t0 = time.perf_counter()
    hal = load_hallucinator(str(model))
    face_err = 0.0
    with atomic_path(cache) as tmp, h5py.File(data, "r") as src:
        with h5py.File(tmp, "w") as f:
            out = f.create_dataset("images", (len(rows), 128, 128, 3), np.uint8,
                                   chunks=(min(16, max(1, len(rows))), 128, 128, 3), compression="lzf")
            f.create_dataset("rows", data=rows)
            with tqdm(total=len(rows), desc="hallucinate", unit="img", disable=not progress) as bar:
                for start, stop, positions in iter_blocks(rows, block=max(batch_size, 256)):
                    masked_blk = src["masked"][start:stop]
                    mask_blk = src["mask"][start:stop]
                    pick = rows[positions] - start
                    for b in range(0, len(pick), batch_size):
                        sel = pick[b:b + batch_size]
                        masked = to_float(masked_blk[sel])
                        mask = mask_blk[sel]
                        p = positions[b:b + batch_size]
                        o = hal.one_sample(masked, mask, sample, seed, keys=rows[p])["out_128"]
                        img = to_uint8(o)
                        inside = mask.astype(bool)
                        if inside.any():  # face pixels must be the input's (composited by the model)
                            diff = np.abs(img.astype(np.int16) - masked_blk[sel].astype(np.int16))
                            face_err = max(face_err, float(diff[inside].max()))
                        out[int(p[0]):int(p[-1]) + 1] = img
                        bar.update(len(sel))
            info = {"n": int(len(rows)), "seconds": round(time.perf_counter() - t0, 2),
                    "face_pixels_max_abs_diff_uint8": face_err, "model": str(model),
                    "generator_config": hal.cfg.name, "batch_size": int(batch_size),
                    "sample": int(sample), "noise_seed": int(seed), "stochastic": bool(hal.stochastic)}
            f.attrs["info"] = json.dumps(info)
    return info


def cache_info(cache: Path) -> dict:
    with h5py.File(cache, "r") as f:
        return json.loads(f.attrs["info"])


def load_cache(cache: Path, rows: np.ndarray, size: int) -> np.ndarray:
    """The cached hallucinations of ``rows`` (which must equal the cache's rows), resized to ``size``."""
    with h5py.File(cache, "r") as f:
        if not np.array_equal(f["rows"][()], np.asarray(rows, np.int64)):
            raise ValueError(f"{cache}: cached rows differ from the requested ones")
        out = np.empty((len(rows), size, size, 3), np.uint8)
        for s in range(0, len(rows), 512):
            out[s:s + 512] = resize_uint8(f["images"][s:s + 512], size)
    return out


def augment_dir_fingerprint(folder: Path) -> str:
    m = Path(folder) / "manifest.csv"
    if not m.is_file():
        raise FileNotFoundError(f"--halluc-dir {folder}: no manifest.csv (write the folder with "
                                f"python -m facehalluc.augment)")
    return sha256_file(m)[:16]


def load_augment_dir(folder: Path, sources: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Hallucinated images of a ``facehalluc.augment`` output folder for the given dataset ``sources``.
    Returns (found, images): ``found`` (n,) bool — rows whose source has an ``ok`` output — and the
    images of those rows, (found.sum(), size, size, 3) uint8."""
    folder = Path(folder)
    augment_dir_fingerprint(folder)
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as fh:
        outputs = {r["source"]: r["output"] for r in csv.DictReader(fh) if r.get("status") == "ok"}
    found = np.asarray([s in outputs for s in sources], bool)
    images = np.empty((int(found.sum()), size, size, 3), np.uint8)
    for k, s in enumerate(np.asarray(sources)[found]):
        im = read_image(folder / outputs[s])
        images[k] = resize_uint8(im[None], size)[0]
    return found, images
