"""``infer.py`` / ``python -m facehalluc.infer``: hallucinate context and background for photos.

Examples::

    python infer.py --input photo.jpg --output out/          # the shipped model (--model default)
    python infer.py --model default --export export/facehalluc/1
    python infer.py --model runs/paper --input photos/ --output out/ --paste-back
    python infer.py --model export/paper_savedmodel --input masked/*.png --masked --output out/
    python infer.py --model runs/paper --export export/paper_savedmodel [--all-outputs]
    python infer.py --model runs/sampling --input photo.jpg --output out/ --samples 4 --seed 1

Exit status: 0 when at least one input was processed (or the export succeeded), 1 when nothing
could be processed, 2 on usage errors (bad model path, no inputs).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..infer.paste import DEFAULT_FEATHER
from ..utils.quiet import quiet_tensorflow


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="infer.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", help="'default' (the generator shipped in the package, "
                   "docs/model_card.md; used when --model is not given), a training run directory "
                   "(config.yaml + generator.weights.h5) or an exported SavedModel directory")
    p.add_argument("--weights", help="weights file inside/outside the run directory (e.g. a snapshot); "
                   "run directories only")
    p.add_argument("--input", nargs="+", metavar="PATH", help="image files and/or directories (recursive)")
    p.add_argument("--output", help="output directory")
    p.add_argument("--masked", action="store_true", help="inputs are already-masked 128x128 faces "
                   "(black outside the face); other sizes are refused")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--save-stages", action="store_true", help="also write <stem>_masked.png and "
                   "<stem>_block{r}.png for every block")
    p.add_argument("--paste-back", action="store_true", help="also write <stem>_pasted.png: the output "
                   "warped back into the original photo (raw photos only)")
    p.add_argument("--feather", type=float, default=DEFAULT_FEATHER,
                   help=f"paste-back blend ramp in crop pixels (default {DEFAULT_FEATHER:g}; face pixels stay the photo's)")
    p.add_argument("--samples", type=int, default=1, metavar="K",
                   help="hallucinations per input (a generator with style noise, e.g. the sampling preset): "
                   "<stem>_sample0.png ... <stem>_sample{K-1}.png; a deterministic generator gives one")
    p.add_argument("--seed", type=int, default=0, help="noise seed: sample j of <stem> uses "
                   "numpy default_rng((seed, j, crc32(stem))), the same on every machine (default 0)")
    p.add_argument("--export", metavar="DIR", help="export the model as a TensorFlow SavedModel to DIR "
                   "(an existing SavedModel there is replaced; other non-empty folders are refused)")
    p.add_argument("--all-outputs", action="store_true", help="with --export: also export out_8..out_64")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not args.export and not args.input:
        print("infer.py: give --input PATH ... (with --output DIR) and/or --export DIR", file=sys.stderr)
        return 2
    if args.samples < 1:
        print("infer.py: --samples must be >= 1", file=sys.stderr)
        return 2
    if args.input and not args.output:
        print("infer.py: --output DIR is required with --input", file=sys.stderr)
        return 2
    from .engine import ModelPathError, load_hallucinator

    from ..store.spec import ShippedModelError, is_savedmodel_dir, resolve_model

    try:
        model_path = resolve_model(args.model)
    except ShippedModelError as e:
        print(f"infer.py: {e}", file=sys.stderr)
        return 2
    if args.export:
        from ..store.export import export_savedmodel

        if is_savedmodel_dir(model_path):
            print(f"infer.py: {model_path} is already a SavedModel; --export needs a run directory",
                  file=sys.stderr)
            return 2
        try:
            out = export_savedmodel(model_path, args.export, all_outputs=args.all_outputs, overwrite=True)
        except (OSError, ValueError, RuntimeError) as e:
            print(f"infer.py: export failed: {e}", file=sys.stderr)
            return 2
        print(f"exported SavedModel to {out} (signatures serving_default, serving_uint8, serving_with_mask)")
        if not args.input:
            return 0
    from .pipeline import InferenceOptions, run_inference

    try:
        model = load_hallucinator(model_path, args.weights)
    except (ModelPathError, OSError, RuntimeError, ValueError) as e:
        print(f"infer.py: cannot load model: {e}", file=sys.stderr)
        return 2
    if args.samples > 1 and not model.stochastic:
        print(f"infer.py: note: {model_path} has no style-noise input, so its {args.samples} samples are "
              f"identical; writing one output per input (train with --config sampling for several)",
              file=sys.stderr)
        args.samples = 1
    opt = InferenceOptions(masked_inputs=args.masked, batch_size=args.batch_size, save_stages=args.save_stages,
                           paste_back=args.paste_back, feather=args.feather, progress=not args.no_progress,
                           samples=args.samples, seed=args.seed)
    try:
        report = run_inference(model, args.input, args.output, opt)
    except FileNotFoundError as e:
        print(f"infer.py: {e}", file=sys.stderr)
        return 2
    for f in report.failures:
        print(f"failed: {f['input']}: {f['error']}: {f['message']}", file=sys.stderr)
    print(report.summary())
    print(f"report: {Path(args.output) / 'inference_report.json'}")
    if report.n_inputs == 0:
        print("infer.py: no image files found in the given inputs", file=sys.stderr)
        return 2
    return 0 if report.n_processed > 0 else 1
