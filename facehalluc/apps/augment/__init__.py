"""Hallucinated data augmentation (paper §4.4, Table 2): a face dataset in, the same dataset with
hallucinated context and background out.

    python -m facehalluc.augment --model runs/paper --src CASIA-WebFace/ --out CASIA-hallucinated/ --workers 2
    python -m facehalluc.augment --model runs/paper --src CASIA-WebFace/ --out CASIA-hallucinated/ --resume
    python -m facehalluc.augment --model runs/sampling --src LFW/ --out LFW-x3/ --per-face 3 --seed 0

§4.4: *"We align, mask and resize all the face images from CW using the same pre-processing steps as
our training data. These masked images are then fed to our trained cascaded model to hallucinate
synthetic context and background pixels. [...] we label the hallucinated image as the same class as
the original input"*.

Input: one folder per identity (``Person/photo.jpg``, as CASIA-WebFace and LFW are laid out; files
directly in ``--src`` are their own identity).  Every photo goes through the package's preprocessing
(detect, align, mask: :func:`facehalluc.infer.preprocessing.align_photo`, the model's own
``preprocess`` settings) and the generator (:class:`facehalluc.infer.Hallucinator`, run with the
landmark-hull mask); the 128x128 output ``out_128`` is written as ``OUT/Person/photo.png`` — the
identity is the folder name, as in the input.  Photos without a detectable face are skipped.

``--per-face K`` (a generator with style noise, e.g. the ``sampling`` preset; issue 23) writes K different
hallucinations of every photo, ``OUT/Person/photo_sample0.png`` ... ``photo_sample{K-1}.png``; sample j of a
photo uses the noise ``numpy.random.default_rng((seed, j, crc32(source path)))``, so a rerun with the same
``--seed`` writes the same files.  A deterministic generator refuses K > 1 (its copies would be identical).

Outputs in ``--out``: the images, ``manifest.csv`` (``source,output,identity,status`` for every
output, one row per sample with ``--per-face``; status ``ok`` or the skip code), ``skipped.csv`` (``source,identity,reason_code,reason``) and
``augment_report.json``.

Robustness: every image is written to a temporary name and renamed (a file at its final name is
complete); each finished photo is appended to ``OUT/.augment_journal.jsonl``; ``--resume`` skips
every photo whose output exists or that the journal lists as skipped, removes temporary files left
by a killed run, and refuses a folder made from another ``--src`` or ``--model``.  The manifest and
report are written (atomically) when the run finishes.

Exit status: 0 when at least one image is hallucinated (or all were already done), 1 when none
could be, 2 on usage errors (bad model, source folder, existing output without ``--resume``).
"""
from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import multiprocessing as mp
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ...utils.atomic import atomic_write_text
from ...utils.image import write_image

JOURNAL = ".augment_journal.jsonl"
STATE = ".augment_state.json"
MANIFEST = "manifest.csv"
SKIPPED = "skipped.csv"
REPORT = "augment_report.json"
MANIFEST_COLUMNS = ("source", "output", "identity", "status")


class AugmentError(RuntimeError):
    """The run cannot start (no model, bad folders, an existing output without --resume)."""


class AugmentInterrupted(RuntimeError):
    """Raised by the ``stop_after`` test hook after that many images were written."""


# ------------------------------------------------------------------------------------------ model
def model_path(spec: str) -> Path:
    """``--model`` value -> an existing run directory, packed model or SavedModel path, resolved by
    :func:`facehalluc.store.spec.resolve_model`; when this installation lacks the shipped model, or the
    path does not exist, an :class:`AugmentError` says what is missing."""
    from ...store.spec import ShippedModelError, resolve_model

    try:
        path = resolve_model(spec)
    except ShippedModelError as e:
        raise AugmentError(str(e)) from e
    if not path.exists():
        raise AugmentError(f"--model {spec}: no such run directory or SavedModel")
    return path


# ------------------------------------------------------------------------------------------ files
@dataclass(frozen=True)
class Job:
    index: int
    source: str  # relative to --src, '/'-separated
    output: str  # relative to --out
    identity: str


def plan(src: Path, limit: int | None = None) -> list[Job]:
    """Input photos (sorted, the first ``limit``) and their output names: same relative folder, file
    stem + ``.png``; stems that collide within a folder (``a.jpg``, ``a.png``) get the extension
    appended (``a_png.png``) for all but the first."""
    from ...data.prepare import discover

    jobs: list[Job] = []
    taken: set[str] = set()
    for i, f in enumerate(discover(src, limit)):
        rel = Path(f.rel)
        out = rel.with_suffix(".png").as_posix()
        if out in taken:
            out = rel.with_name(f"{rel.stem}_{rel.suffix.lstrip('.').lower()}.png").as_posix()
            k = 2
            while out in taken:
                out = rel.with_name(f"{rel.stem}_{rel.suffix.lstrip('.').lower()}_{k}.png").as_posix()
                k += 1
        taken.add(out)
        jobs.append(Job(i, f.rel, out, f.identity))
    return jobs


def job_outputs(job: Job, per_face: int) -> list[str]:
    """The output files of ``job``: its ``.png`` name, or ``<stem>_sample{j}.png`` for j < ``per_face`` > 1."""
    if per_face == 1:
        return [job.output]
    rel = Path(job.output)
    return [rel.with_name(f"{rel.stem}_sample{j}.png").as_posix() for j in range(per_face)]


def read_journal(out: Path) -> dict[str, dict[str, str]]:
    """source -> last journal record; a torn last line (killed while appending) is ignored."""
    records: dict[str, dict[str, str]] = {}
    path = out / JOURNAL
    if not path.is_file():
        return records
    for line in path.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "source" in rec:
            records[rec["source"]] = rec
    return records


def _remove_temporaries(out: Path) -> int:
    n = 0
    for p in out.rglob(".tmp-*"):
        if p.is_file():
            p.unlink()
            n += 1
    return n


# ---------------------------------------------------------------------------------- preprocessing
@functools.lru_cache(maxsize=1)
def _worker_preprocessor(cfg_json: str):
    from ...config import PreprocessConfig
    from ...preprocess import FacePreprocessor

    return FacePreprocessor(PreprocessConfig(**json.loads(cfg_json)))


def _align(pre, root: Path, job: Job) -> tuple[Job, Any]:
    """(job, (masked float32, mask float32)) or (job, (code, message)) for a skipped photo."""
    from ...infer.preprocessing import align_photo
    from ...preprocess import LandmarkModelError, PreprocessError

    try:
        face = align_photo(pre, root / job.source)
    except LandmarkModelError:
        raise
    except PreprocessError as e:
        return job, (e.code, e.reason)
    except Exception as e:  # noqa: BLE001 - one odd file must not stop a long batch
        return job, ("error", f"{type(e).__name__}: {e}")
    return job, (face.masked, face.mask)


def _worker_align(args: tuple[str, str, Job]) -> tuple[Job, Any]:
    cfg_json, root, job = args
    return _align(_worker_preprocessor(cfg_json), Path(root), job)


def _aligned_stream(jobs: Sequence[Job], root: Path, pcfg, workers: int) -> Iterator[tuple[Job, Any]]:
    """Preprocessed jobs in input order, in this process (workers <= 0) or a spawn pool."""
    import dataclasses

    if not jobs:
        return
    if workers <= 0:
        from ...preprocess import FacePreprocessor

        pre = FacePreprocessor(pcfg)
        for job in jobs:
            yield _align(pre, root, job)
        return
    cfg_json = json.dumps(dataclasses.asdict(pcfg))
    ctx = mp.get_context("spawn")
    with ctx.Pool(processes=min(workers, len(jobs))) as pool:
        yield from pool.imap(_worker_align, ((cfg_json, str(root), j) for j in jobs), chunksize=8)


# ------------------------------------------------------------------------------------------ run
@dataclass
class AugmentReport:
    src: str
    out: str
    model: str
    model_source: str
    n_files: int = 0
    n_ok: int = 0
    n_skipped: int = 0
    n_done_before: int = 0  # finished by an earlier (interrupted) run and not redone
    n_processed_now: int = 0  # preprocessed by this call (hallucinated or skipped)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    n_identities: int = 0
    seconds: float = 0.0
    seconds_generator: float = 0.0
    removed_temporaries: int = 0

    def summary(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.skipped_by_reason.items())) or "none"
        return (f"{self.out}: {self.n_ok} hallucinated images of {self.n_identities} identities from "
                f"{self.n_files} files, {self.n_skipped} skipped ({reasons}); {self.n_processed_now} "
                f"processed now, {self.n_done_before} done before; {self.seconds:.1f} s "
                f"(generator {self.seconds_generator:.1f} s)")


def augment(model, src: str | Path, out: str | Path, *, workers: int = 0, resume: bool = False,
            limit: int | None = None, batch_size: int = 16, progress: bool = True,
            stop_after: int | None = None, per_face: int = 1, seed: int = 0) -> AugmentReport:
    """Hallucinates every photo of ``src`` into ``out`` (see the module docstring); ``per_face`` samples of
    each with a style-noise generator (``seed``: the noise seed).

    ``model``: a :class:`facehalluc.infer.Hallucinator`.  ``stop_after``: test hook, raise
    :class:`AugmentInterrupted` once that many images were written by this call.
    """
    from tqdm import tqdm

    from ...infer.engine import name_seed

    t0 = time.perf_counter()
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise AugmentError(f"--src {src}: source folder not found")
    if batch_size < 1:
        raise AugmentError(f"batch size must be >= 1, got {batch_size}")
    if per_face < 1:
        raise AugmentError(f"--per-face must be >= 1, got {per_face}")
    if per_face > 1 and not getattr(model, "stochastic", False):
        raise AugmentError(f"--per-face {per_face}: the model has no style-noise input, so its copies would be "
                           f"identical (train one with --config sampling)")
    try:
        if out.resolve() == src.resolve() or src.resolve() in out.resolve().parents:
            raise AugmentError(f"--out {out} must not be inside --src {src}")
    except OSError:
        pass
    state = {"src": str(src.resolve()), "model": str(Path(model.path).resolve()) if model.path else "",
             "limit": limit}
    if per_face > 1 or getattr(model, "stochastic", False):
        state.update(per_face=per_face, seed=seed)
    state_path = out / STATE
    if state_path.is_file():
        old = json.loads(state_path.read_text())
        if not resume:
            raise AugmentError(f"--out {out} holds an augmentation run; pass --resume to continue it or "
                               f"choose another --out")
        if old.get("src") != state["src"] or old.get("model") != state["model"]:
            raise AugmentError(f"--out {out} was made from --src {old.get('src')} and --model "
                               f"{old.get('model')}; this call has {state['src']} and {state['model']}")
        if (old.get("per_face", 1), old.get("seed", 0)) != (state.get("per_face", 1), state.get("seed", 0)):
            raise AugmentError(f"--out {out} was made with --per-face {old.get('per_face', 1)} --seed "
                               f"{old.get('seed', 0)}; this call has --per-face {per_face} --seed {seed}")
    elif out.is_dir() and any(out.iterdir()) and not resume:
        raise AugmentError(f"--out {out} exists and is not empty; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(state_path, json.dumps(state, indent=1))

    jobs = plan(src, limit)
    report = AugmentReport(str(src), str(out), str(model.path), model.source, n_files=len(jobs))
    report.removed_temporaries = _remove_temporaries(out)
    journal = read_journal(out)
    done: dict[str, dict[str, str]] = {}
    todo: list[Job] = []
    for job in jobs:
        rec = journal.get(job.source)
        if all((out / o).is_file() for o in job_outputs(job, per_face)):
            done[job.source] = {"status": "ok"}
        elif rec is not None and rec.get("status") not in (None, "ok"):
            done[job.source] = rec
        else:
            todo.append(job)
    report.n_done_before = len(done)
    results: dict[str, dict[str, str]] = dict(done)
    top = model.resolution
    pcfg = model.cfg.preprocess
    if todo and pcfg.output_size != top:
        raise AugmentError(f"the model's preprocess.output_size ({pcfg.output_size}) differs from its "
                           f"output resolution ({top})")
    written = 0
    with open(out / JOURNAL, "a", encoding="utf-8") as jf, \
            tqdm(total=len(jobs), initial=len(done), desc="augment", unit="img", disable=not progress) as bar:

        def log(recs: list[dict[str, str]]) -> None:
            for r in recs:
                jf.write(json.dumps(r) + "\n")
            jf.flush()
            os.fsync(jf.fileno())

        batch: list[tuple[Job, np.ndarray, np.ndarray]] = []

        def flush() -> None:
            nonlocal written
            if not batch:
                return
            t = time.perf_counter()
            samples = model.sample(np.stack([b[1] for b in batch]), np.stack([b[2] for b in batch]), per_face,
                                   seed, [name_seed(b[0].source) for b in batch])
            report.seconds_generator += time.perf_counter() - t
            recs = []
            for i, (job, _, _) in enumerate(batch):
                for name, outs in zip(job_outputs(job, per_face), samples):
                    write_image(out / name, outs[f"out_{top}"][i], fsync=True)
                rec = {"source": job.source, "output": job.output, "identity": job.identity, "status": "ok"}
                results[job.source] = rec
                recs.append(rec)
            log(recs)
            bar.update(len(batch))
            written += len(batch)
            batch.clear()
            if stop_after is not None and written >= stop_after:
                raise AugmentInterrupted(f"stopped after {written} images (test hook)")

        for job, payload in _aligned_stream(todo, src, pcfg, workers):
            report.n_processed_now += 1
            if isinstance(payload[0], str):
                rec = {"source": job.source, "output": "", "identity": job.identity, "status": payload[0],
                       "reason": payload[1]}
                results[job.source] = rec
                log([rec])
                bar.update(1)
                continue
            batch.append((job, payload[0], payload[1]))
            if len(batch) >= batch_size:
                flush()
        flush()

    # manifest and skip report, in input order
    man = io.StringIO()
    w = csv.writer(man, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    sk = io.StringIO()
    ws = csv.writer(sk, lineterminator="\n")
    ws.writerow(("source", "identity", "reason_code", "reason"))
    identities: set[str] = set()
    by_reason: dict[str, int] = {}
    for job in jobs:
        rec = results.get(job.source, {"status": "missing"})
        status = rec.get("status", "missing")
        if status == "ok":
            report.n_ok += 1
            identities.add(job.identity)
            for name in job_outputs(job, per_face):
                w.writerow((job.source, name, job.identity, "ok"))
        else:
            report.n_skipped += 1
            by_reason[status] = by_reason.get(status, 0) + 1
            w.writerow((job.source, "", job.identity, status))
            ws.writerow((job.source, job.identity, status, rec.get("reason", "")))
    report.skipped_by_reason = dict(sorted(by_reason.items()))
    report.n_identities = len(identities)
    report.seconds = time.perf_counter() - t0
    atomic_write_text(out / MANIFEST, man.getvalue())
    atomic_write_text(out / SKIPPED, sk.getvalue())
    atomic_write_text(out / REPORT, json.dumps(asdict(report), indent=1))
    return report


# ------------------------------------------------------------------------------------------ CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facehalluc.augment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="'default' (the shipped model), a "
                   "training run directory or an exported SavedModel directory")
    p.add_argument("--weights", help="weights file for a run directory (e.g. a snapshot)")
    p.add_argument("--src", required=True, help="photos, one folder per identity (Person/photo.jpg)")
    p.add_argument("--out", required=True, help="output folder (same layout, .png)")
    p.add_argument("--workers", type=int, default=0, help="preprocessing processes (0 = in this process)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--limit", type=int, default=None, help="only the first N photos (sorted by path)")
    p.add_argument("--batch-size", type=int, default=16, help="generator batch size")
    p.add_argument("--per-face", type=int, default=1, metavar="K", help="hallucinations per photo "
                   "(a style-noise generator, e.g. --config sampling): Person/photo_sample{j}.png, j < K")
    p.add_argument("--seed", type=int, default=0, help="noise seed (sample j of a photo: default_rng((seed, j, "
                   "crc32(path))))")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        resolved = model_path(args.model)
    except AugmentError as e:
        print(f"augment: {e}", file=sys.stderr)
        return 2
    if not Path(args.src).is_dir():
        print(f"augment: --src {args.src}: source folder not found", file=sys.stderr)
        return 2
    from ...utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    from ...infer.engine import ModelPathError, load_hallucinator

    try:
        model = load_hallucinator(resolved, args.weights)
    except (ModelPathError, OSError, RuntimeError, ValueError) as e:
        print(f"augment: cannot load model: {e}", file=sys.stderr)
        return 2
    try:
        report = augment(model, args.src, args.out, workers=args.workers, resume=args.resume,
                         limit=args.limit, batch_size=args.batch_size, progress=not args.no_progress,
                         per_face=args.per_face, seed=args.seed)
    except AugmentError as e:
        print(f"augment: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"manifest: {Path(args.out) / MANIFEST}; skipped: {Path(args.out) / SKIPPED}")
    return 0 if report.n_ok > 0 or report.n_files == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
