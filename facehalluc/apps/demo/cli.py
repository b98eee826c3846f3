"""``python -m facehalluc.demo``: the command line of :mod:`facehalluc.demo` (see its docstring)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __doc__ as DEMO_DOC
from . import run_model_demo, run_training_demo
from ...utils.quiet import quiet_tensorflow

log = logging.getLogger("facehalluc.demo")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facehalluc.demo", description=DEMO_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="folder of face photos (LFW layout Person/x.jpg); default: "
                   "the photos bundled with scikit-image and matplotlib")
    p.add_argument("--limit", type=int, help="with --data: only the first N files (sorted)")
    p.add_argument("--out", type=Path, default=Path("demo_out"))
    p.add_argument("--model", default="default", help="without --train: 'default' (the shipped generator), "
                   "a run directory or a SavedModel")
    p.add_argument("--heldout", action="store_true", help="with --data in LFW layout, without --train: one "
                   "photo per person of the identities held out of the shipped model's training (the val "
                   "split of data/prepare.py: hash of the folder name, val_fraction 0.05)")
    p.add_argument("--export", action="store_true", help="without --train: also export the model as a "
                   "SavedModel, reload it with TensorFlow alone and compare (always done with --train)")
    t = p.add_argument_group("--train: train a model first (minutes), instead of using the shipped one")
    t.add_argument("--train", action="store_true", help="train --config for --steps steps, then hallucinate "
                   "held-out faces and export")
    t.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    t.add_argument("--batch-size", type=int, help="default: the preset's (tiny: 8)")
    t.add_argument("--config", default="tiny", help="preset or YAML (default tiny)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="config override (repeatable)")
    t.add_argument("--train-variants", type=int, default=48, help="bundled mode: training variants per photo")
    t.add_argument("--val-variants", type=int, default=4, help="bundled mode: held-out variants per photo")
    t.add_argument("--show", type=int, default=8, help="held-out faces on the contact sheet")
    t.add_argument("--eager", action="store_true", help="run train steps eagerly (no graph tracing: "
                   "faster for a handful of steps, slower per step)")
    t.add_argument("--seed", type=int, default=0)
    return p


def _listed_photos(data: Path, limit: int | None, heldout: bool = False, val_fraction: float = 0.05) -> list[Path]:
    """Photos under ``data`` (sorted).  ``heldout``: ``data`` is identity-per-folder (LFW layout); keep the
    first photo of each person whom ``data/prepare.py``'s identity split puts in val (never trained on)."""
    from ...data.schema import VAL
    from ...data.split import split_of
    from ...infer import list_inputs

    files = sorted(list_inputs([data]))
    if heldout:
        seen: set[str] = set()
        keep = []
        for f in files:
            person = f.parent.name
            if person not in seen and split_of(person, str(f), val_fraction) == VAL:
                seen.add(person)
                keep.append(f)
        files = keep
    return files[:limit] if limit else files


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.data is not None and not args.data.is_dir():
        print(f"--data {args.data}: folder not found", file=sys.stderr)
        return 2
    if not args.train:
        from ...infer.engine import ModelPathError

        if args.heldout and args.data is None:
            print("--heldout needs --data DIR (identity-per-folder photos, e.g. ../shared/data/lfw)", file=sys.stderr)
            return 2
        photos = _listed_photos(args.data, args.limit, args.heldout) if args.data is not None else None
        try:
            r = run_model_demo(args.out, args.model, photos, export=args.export)
        except (ModelPathError, FileNotFoundError) as e:
            print(f"demo: {e}", file=sys.stderr)
            return 2
        print((args.out / "report.md").read_text())
        ok = r["photos"]["n_processed"] > 0 and (
            "savedmodel" not in r or (r["savedmodel"]["equal_within_1e-5"] and r["savedmodel"]["face_pixels_exact"]))
        return 0 if ok else 1
    if args.steps < 1:
        print("--steps must be >= 1", file=sys.stderr)
        return 2
    r = run_training_demo(args.out, args.data, args.limit, args.steps, args.config, args.overrides,
                          args.batch_size, args.train_variants, args.val_variants, args.show, args.eager,
                          args.seed)
    print((args.out / "report.md").read_text())
    ok = r["savedmodel"]["equal_within_1e-5"] and r["savedmodel"]["face_pixels_exact"] \
        and r["heldout"]["face_pixels_exact"]
    if not ok:
        print("demo: SavedModel check FAILED (see report.json)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
