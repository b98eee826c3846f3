"""Paper Table 2 at any scale: does training a face recognizer on real + hallucinated faces help?

    python -m facehalluc.recognition.experiment --data work_data/lfw.h5 --model default --out runs/table2 \
        --min-images 5 --size 64 --epochs 12 --seeds 0 1 2

Paper §4.4: every CASIA-WebFace face is aligned and masked, the trained cascade hallucinates new
context and background, and the copy is labelled with the source identity; a ResNet-50 trained on real
+ hallucinated faces verifies LFW better than one trained on the real faces only (TPR@FPR=0.01 0.963 ->
0.971; match score = Pearson correlation of penultimate-layer features, all-vs-all).

What this command does:

1. Training set: the identities with >= ``--min-images`` faces in the training split of ``--data``
   (``--train-split``), labelled by identity.
2. Every one of those faces is hallucinated once by the generator ``--model`` (``default`` = the one
   shipped in the package, or a run directory / SavedModel), or read from a ``facehalluc.augment`` output
   folder (``--halluc-dir``); cached in ``OUT/halluc_cache/`` so reruns skip it
   (:mod:`facehalluc.recognition.hallucinate`).
3. For every seed and arm, a CNN (:mod:`facehalluc.recognition.model`) is trained from scratch to
   classify the identities: arm ``real`` on the real aligned faces, arm ``real+halluc`` on those plus
   the hallucinated copies (same labels).  **Budget** (``--budget``): ``steps`` (default) gives both arms
   the same number of SGD steps, ``epochs x ceil(n_real / batch)``, so the augmented arm gets no extra
   compute — each of its images is seen half as often; ``epochs`` gives every arm ``--epochs`` passes
   over its own training set (the augmented arm then takes twice the steps; closer to the paper, which
   trained each network until its validation loss plateaued).  Both arms of a seed start from the same
   initial weights (``keras.utils.set_random_seed(seed)``): differences between arms are paired.
   Optional control arm ``real+masked`` (not in the paper): the added copy is the generator's *input*
   (the face, black outside it) instead of its output — it separates "the copies hide the real
   background" from "the hallucinated context itself helps".
4. Verification on the real aligned faces of ``--eval-split`` (default ``val``: identity-disjoint from
   training) of ``--eval-data`` (default ``--data``): all-vs-all pairs, Pearson correlation of the
   penultimate features, TPR@FPR=0.01 (the largest TPR among thresholds whose FPR <= 0.01; see
   :mod:`facehalluc.recognition.roc`), AUC and EER.
5. Writes ``OUT/results.json`` (the exact command, settings, data counts, per-seed metrics, mean ± sd
   over seeds, paired differences, wall times), ``OUT/table.md`` (Table 2 layout), ``OUT/roc.png``
   and ``OUT/samples.png`` (real training faces over their hallucinated copies).

Resumable: each finished (arm, seed) is stored in ``OUT/runs/<arm>/seed<k>.json`` (+ its weights) and
skipped on the next invocation when its settings are unchanged (a record made with other settings, e.g.
another generator for the augmented arm, is recomputed).  The ``real`` arm does not depend on the
generator, so rerunning with a new generator in the same ``--out`` retrains only ``real+halluc``.
Exit status: 0 on success, 2 on a usage error (missing data / model, too few identities).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...utils.atomic import atomic_write_text
from . import data as rdata
from . import roc as rroc
from .model import RecognizerConfig
from .report import aggregate, markdown_table, plot_rocs, sample_grid
from .train import ConcatImages, TrainConfig, embed, op_determinism, train_recognizer

ARMS = ("real", "real+halluc", "real+masked")
RECORD_VERSION = 1


class ExperimentError(RuntimeError):
    """Bad inputs (missing data or model, too few identities, ...): exit status 2."""


def arm_slug(arm: str) -> str:
    return arm.replace("+", "_")


def _key(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    return x


def _write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=2) + "\n")


# ------------------------------------------------------------------------------------------- run
def run_experiment(args: Any, argv: Sequence[str] | None = None) -> dict:
    """Runs (or resumes) every arm and seed of ``args`` with TensorFlow's op determinism on, restored after.

    ``args``: the options of :func:`facehalluc.apps.recognition.cli.build_parser` (an ``argparse.Namespace``
    or any object with those attributes); ``argv``: the command line recorded in ``results.json``."""
    with op_determinism():
        return _run_experiment(args, argv)


def _run_experiment(args: Any, argv: Sequence[str] | None = None) -> dict:
    t_start = time.perf_counter()
    progress = not args.no_progress
    out = Path(args.out)
    data_path = Path(args.data)
    eval_path = Path(args.eval_data) if args.eval_data else data_path
    for p in {data_path, eval_path}:
        if not p.is_file():
            raise ExperimentError(f"{p}: dataset file not found (make one with data/prepare.py)")
    if args.copies < 1 or (args.copies > 1 and args.halluc_dir is not None):
        raise ExperimentError("--copies must be >= 1, and > 1 needs --model (a style-noise generator), not "
                              "--halluc-dir")
    if args.halluc_dir is not None and not Path(args.halluc_dir, "manifest.csv").is_file():
        raise ExperimentError(f"--halluc-dir {args.halluc_dir}: no manifest.csv "
                              f"(write the folder with python -m facehalluc.augment)")
    arms = list(dict.fromkeys(args.arms))
    seeds = list(dict.fromkeys(args.seeds))
    out.mkdir(parents=True, exist_ok=True)

    # ---- data selection
    index = rdata.read_index(data_path)
    tset = rdata.select_training(index, args.min_images, args.train_split, args.max_identities)
    n_classes = len(tset.classes)
    if n_classes < 2:
        raise ExperimentError(f"{data_path}: only {n_classes} identities have >= {args.min_images} faces in "
                              f"split {args.train_split!r}; lower --min-images")
    eindex = index if eval_path == data_path else rdata.read_index(eval_path)
    erows = eindex.rows_of(args.eval_split)
    overlap = set(tset.classes) & set(eindex.identity[erows].tolist())
    if overlap:
        print(f"warning: {len(overlap)} test identities have the name of a training identity", file=sys.stderr)
    pairs = rroc.verification_pairs(eindex.identity, erows, max_impostors=args.max_impostors, seed=0)
    if pairs.n_genuine == 0 or pairs.n_impostor == 0:
        raise ExperimentError(f"{eval_path} split {args.eval_split!r}: need genuine and impostor pairs "
                              f"(got {pairs.n_genuine} / {pairs.n_impostor})")
    eval_info = {"data": str(eval_path), "split": args.eval_split, "n_faces": int(len(erows)),
                 "n_identities": int(len(set(eindex.identity[erows]))), "n_genuine": pairs.n_genuine,
                 "n_impostor": pairs.n_impostor, "max_impostors": args.max_impostors,
                 "n_identities_named_as_training": len(overlap),
                 "where": f"{eval_path.name} split '{args.eval_split}'"}

    rcfg = RecognizerConfig(input_size=args.size, arch=args.arch, widths=tuple(args.widths),
                            blocks_per_stage=args.blocks, stem_stride=args.stem_stride,
                            embedding_dim=args.embedding_dim, weight_decay=args.weight_decay)
    tcfg = TrainConfig(batch_size=args.batch_size, lr=args.lr)
    steps_per_real_epoch = math.ceil(len(tset.rows) / args.batch_size)
    common = {"version": RECORD_VERSION, "data": index.fingerprint, "train_split": args.train_split,
              "min_images": args.min_images, "max_identities": args.max_identities,
              "rows": hashlib.sha256(tset.rows.tobytes()).hexdigest()[:16], "epochs": args.epochs,
              "recognizer": rcfg.to_dict(), "train": tcfg.to_dict(),
              "eval": {"data": eindex.fingerprint, "split": args.eval_split, "max_impostors": args.max_impostors}}

    # ---- hallucinated copies (only when an arm needs them)
    halluc_info: dict | None = None
    halluc_source: dict | None = None
    need_halluc = "real+halluc" in arms
    if need_halluc:
        from . import hallucinate as rh

        if args.halluc_dir is not None:
            halluc_source = {"augment_dir": str(args.halluc_dir),
                             "fingerprint": rh.augment_dir_fingerprint(Path(args.halluc_dir))}
        else:
            try:
                mpath, mfp = rh.model_fingerprint(args.model)
            except Exception as e:  # noqa: BLE001 - missing shipped model, bad path
                raise ExperimentError(str(e)) from e
            halluc_source = {"model": args.model, "path": mpath, "fingerprint": mfp}
            if args.copies > 1 or args.noise_seed:
                halluc_source.update(copies=args.copies, noise_seed=args.noise_seed)
            caches = []
            for j in range(args.copies):
                fp = mfp if (args.copies == 1 and not args.noise_seed) else f"{mfp}|{args.noise_seed}|{j}"
                cache = out / "halluc_cache" / f"{rh.cache_key(index.fingerprint, tset.rows, fp)}.h5"
                caches.append(cache)
                if cache.is_file():
                    halluc_info = {**rh.cache_info(cache), "cache": str(cache), "reused": True}
                    print(f"hallucinated copies: reusing {cache} ({halluc_info['n']} faces)", file=sys.stderr)
                else:
                    print(f"hallucinating {len(tset.rows)} training faces with {mpath} (copy {j}) -> {cache}",
                          file=sys.stderr)
                    halluc_info = {**rh.hallucinate_to_cache(data_path, tset.rows, mpath, cache, args.halluc_batch,
                                                             progress, sample=j, seed=args.noise_seed),
                                   "cache": str(cache), "reused": False}
            if args.copies > 1:
                halluc_info = {**halluc_info, "copies": args.copies, "caches": [str(c) for c in caches]}

    # ---- pixels (in memory at --size)
    t0 = time.perf_counter()
    x_real = rdata.read_images(data_path, tset.rows, args.size, "aligned", progress, "read train faces")
    x_eval = rdata.read_images(eval_path, erows, args.size, "aligned", progress, "read test faces")
    x_hal = y_hal = x_masked = None
    if "real+masked" in arms:
        x_masked = rdata.read_images(data_path, tset.rows, args.size, "masked", progress, "read masked faces")
    if need_halluc:
        if args.halluc_dir is not None:
            found, x_hal = rh.load_augment_dir(Path(args.halluc_dir), index.source[tset.rows], args.size)
            y_hal = tset.labels[found]
            halluc_info = {"augment_dir": str(args.halluc_dir), "n": int(found.sum()),
                           "missing": int((~found).sum())}
        else:
            x_hal = np.concatenate([rh.load_cache(c, tset.rows, args.size) for c in caches])
            y_hal = np.tile(tset.labels, args.copies)
        sample_grid(x_real[:: max(1, len(x_real) // 8)][:8],
                    x_hal[:: max(1, len(x_hal) // 8)][:8] if args.halluc_dir is None else x_hal[:8],
                    out / "samples.png")
    read_seconds = time.perf_counter() - t0

    def arm_data(arm: str):
        if arm == "real":
            return x_real, tset.labels, 0, None
        if arm == "real+masked":
            return ConcatImages(x_real, x_masked), np.concatenate([tset.labels, tset.labels]), len(x_masked), \
                tset.labels
        return ConcatImages(x_real, x_hal), np.concatenate([tset.labels, y_hal]), len(x_hal), y_hal

    def arm_settings(arm: str) -> dict:
        if arm == "real":  # independent of the generator and of the budget rule
            return {**common, "arm": arm}
        if arm == "real+masked":
            return {**common, "arm": arm, "budget": args.budget}
        return {**common, "arm": arm, "budget": args.budget, "halluc": halluc_source}

    # ---- runs
    records: dict[str, dict[int, dict]] = {arm: {} for arm in arms}
    ran, reused = [], []
    results_path = out / "results.json"
    command = "python -m facehalluc.recognition.experiment " + shlex.join(
        list(argv) if argv is not None else sys.argv[1:])

    def write_results(final: bool) -> dict:
        summary = aggregate(records)
        res = {
            "command": command, "final": final, "settings": vars(args), "paper": {
                "table": "Table 2", "dataset_1_tpr@fpr=0.01": 0.963, "dataset_2_tpr@fpr=0.01": 0.971},
            "tpr_at_fpr_definition": "largest TPR among thresholds t (accept score >= t; tied scores accepted "
                                     "together) whose FPR <= 0.01; no interpolation ('_interp' keys: linear "
                                     "interpolation between the two ROC points straddling 0.01)",
            "train": {"n_identities": n_classes, "n_real": int(len(tset.rows)), "min_images": args.min_images,
                      "steps_per_real_epoch": steps_per_real_epoch},
            "eval": eval_info, "hallucination": halluc_info, "halluc_source": halluc_source,
            "summary": summary,
            "runs": [{"arm": arm, "seed": s, "metrics": r["metrics"], "steps": r["steps"],
                      "train_seconds": r["history"]["seconds"], "final_train_loss": r["history"]["loss"][-1],
                      "final_train_accuracy": r["history"]["accuracy"][-1], "record": r["record"]}
                     for arm in arms for s, r in sorted(records[arm].items())],
            "wall_seconds": {"this_invocation": round(time.perf_counter() - t_start, 1),
                             "read_images": round(read_seconds, 1),
                             "hallucination": None if halluc_info is None else halluc_info.get("seconds"),
                             "ran": ran, "reused": reused},
            "environment": _environment(),
        }
        _write_json(results_path, res)
        return res

    for seed in seeds:
        for arm in arms:
            settings = arm_settings(arm)
            key = _key(settings)
            rec_path = out / "runs" / arm_slug(arm) / f"seed{seed}.json"
            if rec_path.is_file():
                try:
                    rec = json.loads(rec_path.read_text(encoding="utf-8"))
                except ValueError:
                    rec = {}
                if rec.get("key") == key:
                    records[arm][seed] = rec
                    reused.append(f"{arm}/seed{seed}")
                    print(f"{arm} seed {seed}: done before ({rec_path}), skipped", file=sys.stderr)
                    continue
                print(f"{arm} seed {seed}: {rec_path} was made with other settings; recomputing", file=sys.stderr)
            x, y, n_add, y_add = arm_data(arm)
            n_hal = n_add if arm == "real+halluc" else 0
            steps = steps_per_real_epoch * args.epochs if (arm == "real" or args.budget == "steps") \
                else math.ceil(len(x) / args.batch_size) * args.epochs
            print(f"{arm} seed {seed}: {len(x)} images ({n_add} added copies), {n_classes} identities, "
                  f"{steps} steps of {args.batch_size}", file=sys.stderr)
            classifier, embedder, history = train_recognizer(
                x, y, n_classes, rcfg, tcfg, steps, warmup_steps=steps_per_real_epoch, seed=seed, arm=arm,
                progress=progress, log_every=steps_per_real_epoch)
            t_eval = time.perf_counter()
            feats = embed(embedder, x_eval, progress=progress)
            scores = rroc.pair_scores(feats, np.searchsorted(erows, pairs.i), np.searchsorted(erows, pairs.j))
            metrics = rroc.summarize(scores, pairs.same)
            roc_points = rroc.downsample_roc(rroc.roc_curve(scores, pairs.same))
            weights = None
            if not args.no_save_weights:
                from ...utils.atomic import atomic_path

                weights = rec_path.with_suffix(".weights.h5")
                weights.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(weights) as tmp:
                    classifier.save_weights(str(tmp))
            rec = {"key": key, "arm": arm, "seed": seed, "settings": settings, "steps": steps,
                   "data": {"n_real": int(len(tset.rows)), "n_identities": n_classes, "n_halluc": int(n_hal),
                            "n_halluc_identities": int(len(np.unique(y_add))) if n_hal else 0,
                            "n_added": int(n_add), "n_added_identities": int(len(np.unique(y_add))) if n_add else 0,
                            "n_train_images": int(len(x)), "batch_size": args.batch_size},
                   "history": history, "metrics": metrics, "roc": roc_points,
                   "eval_seconds": round(time.perf_counter() - t_eval, 2),
                   "weights": None if weights is None else str(weights), "record": str(rec_path),
                   "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            _write_json(rec_path, rec)
            records[arm][seed] = rec
            ran.append(f"{arm}/seed{seed}")
            print(f"{arm} seed {seed}: TPR@FPR=0.01 {metrics['tpr@fpr=0.01']:.4f}, AUC {metrics['auc']:.4f}, "
                  f"EER {metrics['eer']:.4f} (train {history['seconds']:.0f} s, final train loss "
                  f"{history['loss'][-1]:.3f}, acc {history['accuracy'][-1]:.3f})", file=sys.stderr)
            write_results(final=False)
            del classifier, embedder
            import keras

            keras.backend.clear_session()

    res = write_results(final=True)
    atomic_write_text(out / "table.md", markdown_table(res["summary"], eval_info))
    plot_rocs({arm: {s: r["roc"] for s, r in records[arm].items()} for arm in arms}, out / "roc.png",
              title=f"{n_classes} train identities, {len(tset.rows)} real faces, {args.size}px; "
                    f"test: {eval_info['n_faces']} faces")
    return res


def _environment() -> dict:
    import keras

    return {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
            "threads": {k: os.environ.get(k) for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                                                       "OMP_NUM_THREADS")},
            "machine": platform.machine(), "cpus": os.cpu_count()}


if __name__ == "__main__":  # the command line lives in .cli
    from .cli import run_command
    run_command()
