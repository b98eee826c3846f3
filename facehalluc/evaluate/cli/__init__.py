"""``evaluate.py``: score hallucinated faces against the originals with the paper's metrics.

Two ways in:

    python evaluate.py --real DIR --fake DIR [--mask DIR] [--metrics match,ssim,fid,pieapp] [--out results.json]
                       [--name M]
    python evaluate.py --model default|RUN_DIR|SAVEDMODEL --data FILE.h5 [--split val] [--out results.json] [--name M]

The first pairs the two folders' images by name (see ``facehalluc.evaluate.images``), the second runs our
generator on the dataset's masked faces first (images go to ``--work-dir``, default ``<out stem>_images/``).
Writes the result JSON, ``<stem>_per_image.csv`` and ``<stem>_<metric>_best_worst.png`` figures (and
``<stem>_spectrum.csv/.png`` with the spectrum proxy).  The offline proxies (``--proxies``) are labelled
measures that are not the paper's: see facehalluc.evaluate.offline and docs/evaluation.md.
"""
# This package holds every command line of facehalluc.evaluate (the library modules import no argparse):
# this module is evaluate.py's; cli/<name>.py is `python -m facehalluc.evaluate.<name>`'s (baselines,
# heldout_photos, model_grid, realism_floors, sampling, spectrum_tolerance, table).
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from facehalluc.evaluate.paper_numbers import METRIC_KEYS, METRIC_TITLES


def _csv_list(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="evaluate.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_argument_group("images to score (either --real/--fake or --model/--data)")
    src.add_argument("--real", help="folder of original images")
    src.add_argument("--fake", help="folder of hallucinated images (same file names)")
    src.add_argument("--model", help="'default' (the shipped generator), a run directory (config.yaml + "
                     "generator.weights.h5) or a SavedModel folder")
    src.add_argument("--data", help="prepared dataset .h5 (with --model)")
    src.add_argument("--split", default="val", choices=("train", "val", "test"), help="dataset split (default val; 'test' for final numbers only: docs/evaluation.md)")
    src.add_argument("--mask", help="folder of face masks, same file names (non-zero = face), for the l1_bg and "
                                    "spectrum proxies (default: a 'mask' folder beside --real, if any)")
    src.add_argument("--work-dir", help="where --model writes its real/fake PNGs (default: <out stem>_images)")
    ap.add_argument("--metrics", default=",".join(METRIC_KEYS),
                    help=f"comma list of {','.join(METRIC_KEYS)} (default: all)")
    ap.add_argument("--proxies", default="all",
                    help="comma list of offline proxies (not the paper's metrics): dlib_identity, lpips "
                         "(LPIPS v0.1, ~ training loss), l1_bg (L1 outside the face mask), fd_alexnet "
                         "(FD-AlexNet, NOT FID), spectrum (background-corner HF excess), realism (training-free: "
                         "NSS Fréchet distance and contrast ratio of the hallucinated region); 'all' or 'none' "
                         "(default: all)")
    ap.add_argument("--out", default="results.json", help="result JSON path (default results.json)")
    ap.add_argument("--name", help="method name for the tables (default: the fake folder / model name)")
    ap.add_argument("--limit", type=int, help="score only the first N pairs (sorted by name)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--weights-dir", help="converted weights cache (default $FACEHALLUC_WEIGHTS or "
                                          "~/.cache/facehalluc)")
    ap.add_argument("--fast-fid", action="store_true",
                    help="compute FID's Tr sqrt(S1 S2) from an N x N SVD / eigh instead of scipy sqrtm "
                         "(same value up to round-off, much faster)")
    ap.add_argument("--no-figures", action="store_true", help="skip the best/worst PNGs")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    from facehalluc.utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ap = build_parser()
    args = ap.parse_args(argv)
    by_dirs = args.real is not None or args.fake is not None
    by_model = args.model is not None or args.data is not None
    if by_dirs == by_model:
        ap.error("give either --real and --fake, or --model and --data")
    if by_dirs and not (args.real and args.fake):
        ap.error("--real and --fake go together")
    if by_model and not (args.model and args.data):
        ap.error("--model and --data go together")

    from facehalluc.config import load_config
    from facehalluc.evaluate.images import PairingError, load_pairs, pair_images
    from facehalluc.evaluate.runner import EvalOptions, evaluate_arrays, write_outputs
    from facehalluc.utils.image import ImageError

    out = Path(args.out)
    settings: dict[str, object] = {}
    if by_model:
        from facehalluc.evaluate.generate import generate_pairs

        work = Path(args.work_dir) if args.work_dir else out.with_name(f"{out.stem}_images")
        real_dir, fake_dir, desc = generate_pairs(args.model, args.data, args.split, work, args.batch_size,
                                                  args.limit, progress=not args.quiet)
        settings.update(model=str(args.model), data=str(args.data), split=args.split, model_kind=desc)
        name = args.name or Path(args.model).name
    else:
        real_dir, fake_dir = Path(args.real), Path(args.fake)
        name = args.name or fake_dir.name
    try:
        pairs = pair_images(real_dir, fake_dir, limit=args.limit)
        real, fake = load_pairs(pairs)
    except (PairingError, ImageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from facehalluc.evaluate.images import load_masks
    from facehalluc.evaluate.runner import PROXY_KEYS

    word = args.proxies.strip().lower()
    proxies = () if word == "none" else PROXY_KEYS if word == "all" else _csv_list(args.proxies)
    mask_dir = Path(args.mask) if args.mask else real_dir.parent / "mask"
    masks = None
    if args.mask or mask_dir.is_dir():
        try:
            masks = load_masks(mask_dir, [p.name for p in pairs])
        except (PairingError, ImageError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        settings["mask_dir"] = str(mask_dir)
    cfg = load_config("paper", [f"weights.cache_dir={args.weights_dir}"]) if args.weights_dir else None
    try:
        opts = EvalOptions(metrics=_csv_list(args.metrics), proxies=proxies, batch_size=args.batch_size,
                           progress=not args.quiet, cfg=cfg, fast_fid=args.fast_fid)
    except ValueError as e:
        ap.error(str(e))
    settings.update(real_dir=str(real_dir), fake_dir=str(fake_dir), image_size=int(real.shape[1]),
                    metrics=list(opts.metrics), proxies=list(opts.proxies))
    try:
        scores = evaluate_arrays(real, fake, opts, name=name, settings=settings, masks=masks)
    except ValueError as e:  # MetricInputError: e.g. a mask that covers a whole image
        print(f"error: {e}", file=sys.stderr)
        return 2
    scores.result.real_dir, scores.result.fake_dir = str(real_dir), str(fake_dir)
    written = write_outputs(scores, out, [p.name for p in pairs], real, fake, figures=not args.no_figures)
    r = scores.result
    print(f"{r.name}: {r.n_pairs} pairs")
    for k in METRIC_KEYS:
        m = r.metrics[k]
        line = f"  {METRIC_TITLES[k]:<24} {m.display('{:.4f}')}"
        if m.status == "unavailable":
            line += f"  ({m.reason.rstrip('.')}{'; provide with: ' + m.command if m.command else ''})"
        print(line)
    for k, m in r.proxies.items():
        print(f"  [proxy] {k:<24} {m.display('{:.4f}')}")
    print(json.dumps({k: str(v) for k, v in written.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
