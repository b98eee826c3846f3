"""One augmentation run over a folder tree (:func:`augment`; :mod:`facehalluc.apps.augment`)."""
from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ...utils.atomic import atomic_write_text
from ...utils.image import write_image
from .jobs import (JOURNAL, MANIFEST, MANIFEST_COLUMNS, REPORT, SKIPPED, STATE, AugmentError, AugmentInterrupted,
                   Job, job_outputs, plan, read_journal, _aligned_stream, _remove_temporaries)


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
