"""The photos of a run, their output names, the journal, and the preprocessing stream
(:mod:`facehalluc.apps.augment`)."""
from __future__ import annotations

import functools
import json
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

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
