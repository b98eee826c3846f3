"""Batch preparation: a folder of photos -> one HDF5 dataset (+ skip report), resumable.

Layout of the input folder: ``Person/Person_0001.jpg`` (LFW style: identity = the name of the folder
holding the file) or flat files (identity = the file stem, so every photo is its own identity).

Work is split into chunks of ``chunk_size`` files, processed in order by ``workers`` processes (each
builds its own dlib detector and landmark model once).  Every finished chunk is committed as
``OUT.partial/chunk_NNNNN.npz`` (written to a temporary name, then renamed), next to a
``manifest.json`` that records the file list and settings.  ``resume=True`` skips committed chunks;
when all chunks are done they are merged into ``OUT`` (via ``OUT.tmp`` and a rename, so a file at
``OUT`` is always complete), the skip report ``OUT.skipped.csv`` and ``OUT.report.json`` are written
and the work folder is deleted.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Sequence

import h5py
import numpy as np
import yaml

from ..config import Config, PreprocessConfig, load_config
from .schema import FORMAT_VERSION, IMAGE_KEYS, N_LANDMARKS, SIZE, TEST, TEST_ATTR, _utc_now
from .split import assign_splits

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".jfif")
MANIFEST_VERSION = 1


class PrepareError(RuntimeError):
    """The batch cannot run (bad folder, existing output, mismatching work file, ...)."""


class PrepareInterrupted(RuntimeError):
    """Raised by the ``stop_after_chunks`` test hook after committing that many chunks."""


@dataclass(frozen=True)
class SourceFile:
    rel: str  # path relative to the source folder, '/'-separated
    identity: str


@dataclass
class PrepareResult:
    out: Path
    n_files: int
    n_faces: int
    n_skipped: int
    skipped_by_reason: dict[str, int]
    n_train: int
    n_val: int
    wall_seconds: float
    report_path: Path
    skipped_path: Path
    n_test: int = 0

    def summary(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.skipped_by_reason.items())) or "none"
        return (f"{self.out}: {self.n_faces} faces from {self.n_files} files "
                f"({self.n_train} train / {self.n_val} val / {self.n_test} test), {self.n_skipped} skipped ({reasons}), "
                f"{self.wall_seconds:.1f} s")


# ------------------------------------------------------------------------------------- discovery
def discover(src: str | Path, limit: int | None = None) -> list[SourceFile]:
    """Image files under ``src`` (recursive, sorted), with identities from the parent folder name
    (files directly in ``src`` use their stem)."""
    root = Path(src)
    if not root.is_dir():
        raise PrepareError(f"{root}: source folder not found")
    files: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            rel = Path(dirpath, name).relative_to(root)
            identity = rel.parent.name if len(rel.parts) >= 2 else rel.stem
            files.append(SourceFile(rel.as_posix(), identity))
    files.sort(key=lambda f: f.rel)
    if limit is not None:
        files = files[: max(0, int(limit))]
    return files


# ---------------------------------------------------------------------------------------- workers
@functools.lru_cache(maxsize=1)
def _worker_preprocessor(cfg_json: str):
    """The preprocessor of this worker process, built on its first chunk and reused afterwards."""
    from ..preprocess import FacePreprocessor

    return FacePreprocessor(PreprocessConfig(**json.loads(cfg_json)))


def _process_chunk_with(pre, root: Path, chunk: Sequence[SourceFile]) -> dict:
    from ..preprocess import LandmarkModelError, PreprocessError

    n = len(chunk)
    aligned = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    masked = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    mask = np.zeros((n, SIZE, SIZE), np.uint8)
    lms = np.zeros((n, N_LANDMARKS, 2), np.float32)
    ok_src, ok_id, n_faces, outside = [], [], [], []
    sk_src, sk_code, sk_reason = [], [], []
    k = 0
    for f in chunk:
        try:
            s = pre.process(root / f.rel, name=f.rel)
        except LandmarkModelError:
            raise
        except PreprocessError as e:
            sk_src.append(f.rel), sk_code.append(e.code), sk_reason.append(e.reason)
            continue
        except Exception as e:  # noqa: BLE001 - one odd file must not stop a long batch
            sk_src.append(f.rel), sk_code.append("error"), sk_reason.append(f"{type(e).__name__}: {e}")
            continue
        aligned[k], masked[k], mask[k], lms[k] = s.aligned, s.masked, s.mask, s.landmarks
        ok_src.append(f.rel), ok_id.append(f.identity), n_faces.append(s.n_faces)
        outside.append(s.outside_fraction)
        k += 1
    return {"aligned": aligned[:k], "masked": masked[:k], "mask": mask[:k], "landmarks": lms[:k],
            "source": np.array(ok_src, dtype=str), "identity": np.array(ok_id, dtype=str),
            "n_faces": np.array(n_faces, np.int32), "outside": np.array(outside, np.float32),
            "skip_source": np.array(sk_src, dtype=str), "skip_code": np.array(sk_code, dtype=str),
            "skip_reason": np.array(sk_reason, dtype=str)}


def _worker_chunk(args: tuple[int, str, str, list[SourceFile]]) -> tuple[int, dict]:
    index, cfg_json, root, chunk = args
    return index, _process_chunk_with(_worker_preprocessor(cfg_json), Path(root), chunk)


# --------------------------------------------------------------------------------------- work dir
def _chunk_path(work: Path, index: int) -> Path:
    return work / f"chunk_{index:05d}.npz"


def _save_chunk(work: Path, index: int, data: dict) -> None:
    final = _chunk_path(work, index)
    tmp = final.with_name(final.name + ".tmp.npz")
    np.savez(tmp, **data)
    os.replace(tmp, final)


def _load_chunk(work: Path, index: int) -> dict:
    with np.load(_chunk_path(work, index), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _manifest(src: Path, files: list[SourceFile], chunk_size: int, pcfg: PreprocessConfig) -> dict:
    h = hashlib.sha1("\n".join(f"{f.rel}\t{f.identity}" for f in files).encode("utf-8")).hexdigest()
    return {"manifest_version": MANIFEST_VERSION, "src": str(src.resolve()), "n_files": len(files),
            "files_sha1": h, "chunk_size": chunk_size, "preprocess": dataclasses.asdict(pcfg)}


def _chunks(files: list[SourceFile], size: int) -> list[list[SourceFile]]:
    return [files[i:i + size] for i in range(0, len(files), size)]


# ------------------------------------------------------------------------------------------- merge
def _merge(work: Path, n_chunks: int, out: Path, pcfg: PreprocessConfig, val_fraction: float,
           split_by: str, extra_attrs: dict[str, str], test_fraction: float = 0.0) -> dict:
    counts = []
    for i in range(n_chunks):
        with np.load(_chunk_path(work, i), allow_pickle=False) as z:
            counts.append(int(z["source"].shape[0]))
    n = sum(counts)
    tmp = out.with_name(out.name + ".tmp")
    str_dt = h5py.string_dtype("utf-8")
    sources: list[str] = []
    identities: list[str] = []
    skipped: list[tuple[str, str, str]] = []
    n_multi = 0
    outside_all: list[np.ndarray] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with h5py.File(tmp, "w") as f:
            rows = min(64, n)

            def chunking(*shape: int):
                return (rows, *shape) if n else None

            dsets = {
                "aligned": f.create_dataset("aligned", (n, SIZE, SIZE, 3), np.uint8, chunks=chunking(SIZE, SIZE, 3)),
                "masked": f.create_dataset("masked", (n, SIZE, SIZE, 3), np.uint8, chunks=chunking(SIZE, SIZE, 3)),
                "mask": f.create_dataset("mask", (n, SIZE, SIZE), np.uint8, chunks=chunking(SIZE, SIZE)),
                "landmarks": f.create_dataset("landmarks", (n, N_LANDMARKS, 2), np.float32),
            }
            pos = 0
            for i in range(n_chunks):
                c = _load_chunk(work, i)
                k = c["source"].shape[0]
                for key in (*IMAGE_KEYS, "landmarks"):
                    if k:
                        dsets[key][pos:pos + k] = c[key]
                pos += k
                sources += [str(s) for s in c["source"]]
                identities += [str(s) for s in c["identity"]]
                n_multi += int((c["n_faces"] > 1).sum())
                outside_all.append(c["outside"])
                skipped += list(zip(map(str, c["skip_source"]), map(str, c["skip_code"]),
                                    map(str, c["skip_reason"])))
            split = assign_splits(identities, sources, val_fraction, split_by, test_fraction)
            f.create_dataset("source", data=np.array(sources, dtype=object), dtype=str_dt, shape=(n,))
            f.create_dataset("identity", data=np.array(identities, dtype=object), dtype=str_dt, shape=(n,))
            f.create_dataset("split", data=split, shape=(n,), dtype=np.uint8)
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["preprocess_config"] = yaml.safe_dump(dataclasses.asdict(pcfg), sort_keys=False)
            f.attrs["created"] = _utc_now()
            for key, value in extra_attrs.items():
                f.attrs[key] = value
            if test_fraction > 0:
                f.attrs[TEST_ATTR] = float(test_fraction)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    outside = np.concatenate(outside_all) if outside_all else np.zeros(0, np.float32)
    return {"split": split, "identities": identities, "skipped": skipped, "n_multi_face": n_multi,
            "outside": outside}


# ------------------------------------------------------------------------------------------ driver
def prepare_dataset(src: str | Path, out: str | Path, cfg: Config | None = None, workers: int = 1,
                    limit: int | None = None, val_fraction: float | None = None,
                    split_by: Literal["identity", "image"] | None = None, resume: bool = False,
                    restart: bool = False, overwrite: bool = False, chunk_size: int = 64,
                    progress: bool = True, stop_after_chunks: int | None = None,
                    files: Iterable[SourceFile] | None = None, preprocessor=None) -> PrepareResult:
    """Prepares ``src`` into the HDF5 dataset ``out`` (see the module docstring).

    Args:
        workers: worker processes; 0 runs in this process (no pool).
        limit: only the first ``limit`` files (sorted by path).
        val_fraction / split_by: None = ``cfg.data.val_fraction`` / ``cfg.data.split_by``.
        resume: continue from ``OUT.partial`` (its manifest must match the file list and settings).
        restart: delete an existing ``OUT.partial`` and start over.
        overwrite: replace an existing ``OUT`` (and, unless resuming, discard an unfinished run).
        stop_after_chunks: test hook, raise :class:`PrepareInterrupted` after committing that many
            chunks in this call.
        files: explicit file list instead of discovering ``src``.
        preprocessor: an already built :class:`~facehalluc.preprocess.FacePreprocessor` whose dlib
            models are reused when ``workers == 0`` (the settings come from ``cfg.preprocess``).
    """
    t0 = time.perf_counter()
    cfg = cfg or load_config("paper")
    pcfg = cfg.preprocess
    vf = cfg.data.val_fraction if val_fraction is None else float(val_fraction)
    sb = cfg.data.split_by if split_by is None else split_by
    if sb not in ("identity", "image"):
        raise PrepareError(f"split_by must be 'identity' or 'image', got {sb!r}")
    if not 0.0 <= vf < 1.0:
        raise PrepareError(f"val_fraction must be in [0, 1), got {vf}")
    if chunk_size < 1:
        raise PrepareError("chunk_size must be >= 1")
    root = Path(src)
    out = Path(out)
    if out.suffix == "":
        out = out.with_suffix(".h5")
    if out.exists() and not overwrite:
        raise PrepareError(f"{out} exists; pass --overwrite to replace it")
    file_list = list(files) if files is not None else discover(root, limit)
    if not file_list:
        raise PrepareError(f"{root}: no image files found ({', '.join(IMAGE_EXTENSIONS)})")
    work = out.with_name(out.name + ".partial")
    manifest = _manifest(root, file_list, chunk_size, pcfg)
    if work.exists():
        if restart or (overwrite and not resume):
            shutil.rmtree(work)
        elif not resume:
            raise PrepareError(f"{work} holds an unfinished run; pass --resume to continue it or --restart "
                               f"(or --overwrite) to discard it")
        else:
            try:
                old = json.loads((work / "manifest.json").read_text())
            except (OSError, ValueError):
                old = None
            if old != manifest:
                raise PrepareError(f"{work} was made from other files or settings; pass --restart to "
                                   f"discard it")
    work.mkdir(parents=True, exist_ok=True)
    mpath = work / "manifest.json"
    if not mpath.exists():
        tmp = mpath.with_name("manifest.json.tmp")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, mpath)

    chunks = _chunks(file_list, chunk_size)
    todo = [i for i in range(len(chunks)) if not _chunk_path(work, i).exists()]
    done_files = sum(len(chunks[i]) for i in range(len(chunks)) if i not in set(todo))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(file_list), initial=done_files, unit="img", desc=f"prepare {out.name}",
                   dynamic_ncols=True, file=sys.stderr)
    committed = 0
    cfg_dict = dataclasses.asdict(pcfg)

    def commit(index: int, data: dict) -> None:
        nonlocal committed
        _save_chunk(work, index, data)
        committed += 1
        if bar is not None:
            bar.update(len(chunks[index]))
        if stop_after_chunks is not None and committed >= stop_after_chunks:
            raise PrepareInterrupted(f"stopped after {committed} chunks (test hook)")

    try:
        if todo and workers <= 0:
            from ..preprocess import FacePreprocessor

            pre = FacePreprocessor(pcfg, models_from=preprocessor)
            for i in todo:
                commit(i, _process_chunk_with(pre, root, chunks[i]))
        elif todo:
            ctx = mp.get_context("spawn")
            cfg_json = json.dumps(cfg_dict)
            with ctx.Pool(processes=min(workers, len(todo))) as pool:
                jobs = ((i, cfg_json, str(root), chunks[i]) for i in todo)
                for index, data in pool.imap(_worker_chunk, jobs):
                    commit(index, data)
    finally:
        if bar is not None:
            bar.close()

    merged = _merge(work, len(chunks), out, pcfg, vf, sb,
                    {"source_dir": str(root.resolve()), "val_fraction": str(vf), "split_by": sb},
                    test_fraction=vf * cfg.data.test_share)
    wall = time.perf_counter() - t0
    skipped = merged["skipped"]
    by_reason = dict(sorted(Counter(code for _, code, _ in skipped).items()))
    split = merged["split"]
    ids = merged["identities"]
    skipped_path = out.with_name(out.stem + ".skipped.csv")
    report_path = out.with_name(out.stem + ".report.json")
    tmp_csv = skipped_path.with_name(skipped_path.name + ".tmp")
    with open(tmp_csv, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "reason_code", "reason"])
        w.writerows(skipped)
    os.replace(tmp_csv, skipped_path)
    outside = merged["outside"]
    report = {
        "output": str(out), "source_dir": str(root.resolve()), "created": _utc_now(),
        "n_files": len(file_list), "n_faces": int(len(split)), "n_skipped": len(skipped),
        "skipped_by_reason": by_reason,
        "n_train": int((split == 0).sum()), "n_val": int((split == 1).sum()),
        "n_identities_train": len({i for i, s in zip(ids, split) if s == 0}),
        "n_identities_val": len({i for i, s in zip(ids, split) if s == 1}),
        "n_test": int((split == TEST).sum()),
        "n_identities_test": len({i for i, s in zip(ids, split) if s == TEST}),
        "val_fraction": vf, "test_fraction": vf * cfg.data.test_share, "split_by": sb,
        "n_photos_with_several_faces": merged["n_multi_face"],
        "crop_outside_photo": {
            "share_of_faces": float((outside > 0).mean()) if outside.size else 0.0,
            "mean_fraction": float(outside.mean()) if outside.size else 0.0,
            "max_fraction": float(outside.max()) if outside.size else 0.0},
        "wall_seconds_this_call": round(wall, 2), "workers": workers, "chunk_size": chunk_size,
        "resumed": bool(resume and done_files > 0),
        "preprocess": cfg_dict,
    }
    tmp_json = report_path.with_name(report_path.name + ".tmp")
    tmp_json.write_text(json.dumps(report, indent=1))
    os.replace(tmp_json, report_path)
    shutil.rmtree(work, ignore_errors=True)
    return PrepareResult(out=out, n_files=len(file_list), n_faces=report["n_faces"], n_skipped=len(skipped),
                         skipped_by_reason=by_reason, n_train=report["n_train"], n_val=report["n_val"],
                         wall_seconds=wall, report_path=report_path, skipped_path=skipped_path,
                         n_test=report["n_test"])


if __name__ == "__main__":  # the command line: facehalluc.data.cli.prepare
    from .cli.prepare import run_command

    run_command()
