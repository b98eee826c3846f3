"""Batch inference on files: raw photos (detect, align, mask) or already-masked 128x128 faces."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..utils.image import contact_sheet, write_image
from .engine import Hallucinator, name_seed
from .images import list_inputs, read_masked_face, unique_stems
from .paste import DEFAULT_FEATHER, paste_back

REPORT_NAME = "inference_report.json"


@dataclass
class InferenceOptions:
    masked_inputs: bool = False  # inputs are 128x128 masked faces (black outside the face)
    batch_size: int = 16
    save_stages: bool = False  # also <stem>_masked.png and <stem>_block{r}.png
    paste_back: bool = False  # also <stem>_pasted.png (raw photos only)
    feather: float = DEFAULT_FEATHER  # paste-back alpha ramp width, in crop pixels
    sheet_rows: int = 32  # rows per contact-sheet page
    progress: bool = True
    samples: int = 1  # hallucinations per input (a style-noise generator; <stem>_sample{j}.png when > 1)
    seed: int = 0  # sample j of <stem> uses noise default_rng((seed, j, crc32(stem)))


@dataclass
class Prepared:
    """One input ready for the generator."""

    path: Path
    name: str
    masked: np.ndarray  # (S,S,3) float32 [0,1]
    mask: np.ndarray | None  # (S,S) {0,1} or None (derived from non-zero pixels)
    aligned: np.ndarray | None = None  # (S,S,3) float32, raw photos only
    photo: np.ndarray | None = None  # original photo uint8, kept only for paste-back
    matrix: np.ndarray | None = None  # 2x3 photo -> crop similarity


@dataclass
class InferenceReport:
    model: str
    model_source: str
    output_dir: str
    n_inputs: int = 0
    processed: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    contact_sheets: list[str] = field(default_factory=list)
    seconds_total: float = 0.0
    seconds_generator: float = 0.0

    @property
    def n_processed(self) -> int:
        return len(self.processed)

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for f in self.failures:
            kinds[f["error"]] = kinds.get(f["error"], 0) + 1
        fail = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        return (f"processed {self.n_processed}/{self.n_inputs} images, {len(self.failures)} failed"
                f"{' (' + fail + ')' if fail else ''}, in {self.seconds_total:.1f} s "
                f"(generator {self.seconds_generator:.1f} s); outputs in {self.output_dir}")

    def to_json(self) -> str:
        d = asdict(self)
        d["n_processed"] = self.n_processed
        d["n_failed"] = len(self.failures)
        return json.dumps(d, indent=2)


def _prepare_masked(path: Path, name: str, size: int) -> Prepared:
    return Prepared(path, name, read_masked_face(path, size), None)


def _prepare_raw(preprocessor, path: Path, name: str, keep_photo: bool) -> Prepared:
    from .preprocessing import align_photo

    face = align_photo(preprocessor, path)
    return Prepared(path, name, face.masked, face.mask, face.aligned, face.photo if keep_photo else None,
                    face.matrix)


def _write_outputs(item: Prepared, outs: dict[str, np.ndarray], i: int, out_dir: Path,
                   opt: InferenceOptions, stem: str | None = None) -> dict[str, Any]:
    top = item.masked.shape[0]
    stem = stem or item.name
    rec: dict[str, Any] = {"input": str(item.path), "output": str(write_image(out_dir / f"{stem}.png",
                                                                              outs[f"out_{top}"][i]))}
    if opt.save_stages:
        for k, v in outs.items():
            r = int(k.split("_")[-1])
            if r == top:  # block_128's output is <stem>.png
                continue
            rec[f"block{r}"] = str(write_image(out_dir / f"{stem}_block{r}.png", v[i]))
    if opt.paste_back and item.photo is not None and item.matrix is not None:
        pasted = paste_back(item.photo, outs[f"out_{top}"][i], item.matrix, opt.feather, mask=item.mask)
        rec["pasted"] = str(write_image(out_dir / f"{stem}_pasted.png", pasted))
    return rec


def _write_samples(item: Prepared, samples: list[dict[str, np.ndarray]], i: int, out_dir: Path,
                   opt: InferenceOptions) -> dict[str, Any]:
    """One input's record: ``<stem>.png`` for one sample, ``<stem>_sample{j}.png`` (j = 0..K-1) for several;
    with ``save_stages`` the masked input, the same for every sample, is written once."""
    if len(samples) == 1:
        rec = _write_outputs(item, samples[0], i, out_dir, opt)
    else:
        recs = [_write_outputs(item, s, i, out_dir, opt, f"{item.name}_sample{j}") for j, s in enumerate(samples)]
        rec = {"input": str(item.path), "output": recs[0]["output"], "samples": recs, "seed": opt.seed}
    if opt.save_stages:
        rec["masked"] = str(write_image(out_dir / f"{item.name}_masked.png", item.masked))
    return rec


def _sheet_row(item: Prepared, samples: list[dict[str, np.ndarray]], i: int, stages: bool,
               top: int) -> list[np.ndarray]:
    row = [item.aligned] if item.aligned is not None else []
    row.append(item.masked)
    outs = samples[0]
    if stages:
        row += [outs[k][i] for k in sorted(outs, key=lambda k: int(k.split("_")[-1])) if k != f"out_{top}"]
    row += [s[f"out_{top}"][i] for s in samples]
    return row


def run_inference(model: Hallucinator, inputs: Sequence[str | Path], out_dir: str | Path,
                  options: InferenceOptions | None = None, preprocessor=None) -> InferenceReport:
    """Hallucinates every input; per-file errors are recorded in the report and the batch goes on.

    Writes ``<stem>.png`` per input (plus stages / paste-back as ``options`` say), contact sheets
    ``contact_sheet.png`` (``contact_sheet_2.png`` ... for more than ``sheet_rows`` inputs) and
    ``inference_report.json``.  Raw photos need ``preprocessor`` (built from the model's config
    when None).
    """
    from tqdm import tqdm

    opt = options or InferenceOptions()
    if opt.batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {opt.batch_size}")
    if opt.samples < 1:
        raise ValueError(f"samples must be >= 1, got {opt.samples}")
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = list_inputs(inputs)
    names = unique_stems(files)
    top = model.resolution
    report = InferenceReport(str(model.path), model.source, str(out_dir), n_inputs=len(files))
    if not opt.masked_inputs and preprocessor is None and files:
        from .preprocessing import make_preprocessor

        preprocessor = make_preprocessor(model.cfg)
    sheet_rows: list[list[np.ndarray]] = []
    labels: list[str] = []
    batch: list[Prepared] = []

    def write_sheet() -> None:
        if not sheet_rows:
            return
        page = len(report.contact_sheets)
        name = "contact_sheet.png" if page == 0 else f"contact_sheet_{page + 1}.png"
        report.contact_sheets.append(str(write_image(out_dir / name, contact_sheet(sheet_rows, labels))))
        sheet_rows.clear()

    def flush() -> None:
        nonlocal labels
        if not batch:
            return
        masked = np.stack([b.masked for b in batch])
        t = time.perf_counter()
        mask = None
        if any(b.mask is not None for b in batch):
            mask = np.stack([b.mask if b.mask is not None else (b.masked.max(-1) > 0) for b in batch])
            mask = mask.astype(np.float32)
        samples = model.sample(masked, mask, opt.samples, opt.seed, [name_seed(b.name) for b in batch])
        outs = samples[0]
        report.seconds_generator += time.perf_counter() - t
        for i, item in enumerate(batch):
            report.processed.append(_write_samples(item, samples, i, out_dir, opt))
            sheet_rows.append(_sheet_row(item, samples, i, opt.save_stages, top))
        if not labels:
            item = batch[0]
            labels = (["aligned"] if item.aligned is not None else []) + ["masked (input)"]
            if opt.save_stages:
                labels += [f"block_{k.split('_')[-1]}" for k in sorted(outs, key=lambda k: int(k.split("_")[-1]))
                           if k != f"out_{top}"]
            labels += [f"out_{top}"] if opt.samples == 1 else [f"sample {j}" for j in range(opt.samples)]
        batch.clear()
        if len(sheet_rows) >= opt.sheet_rows:
            write_sheet()

    for path, name in tqdm(list(zip(files, names)), desc="hallucinating", unit="img", disable=not opt.progress):
        try:
            item = (_prepare_masked(path, name, top) if opt.masked_inputs
                    else _prepare_raw(preprocessor, path, name, opt.paste_back))
        except Exception as e:  # noqa: BLE001 - per-file failure, recorded and skipped
            report.failures.append({"input": str(path), "error": e.__class__.__name__, "message": str(e)})
            continue
        batch.append(item)
        if len(batch) >= opt.batch_size:
            flush()
    flush()
    write_sheet()
    report.seconds_total = time.perf_counter() - t0
    (out_dir / REPORT_NAME).write_text(report.to_json())
    return report
