"""``python -m facehalluc.evaluate.sampling``: the command line of
:mod:`facehalluc.evaluate.sampling` (see its docstring)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from facehalluc.evaluate import sampling as _lib
from facehalluc.evaluate.sampling import evaluate_sampling


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.sampling", description=_lib.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default", help="'default', a run directory, packed folder or SavedModel")
    ap.add_argument("--weights", help="a weights file of a run directory (e.g. snapshots/epoch_004.weights.h5)")
    ap.add_argument("--data", required=True, help="prepared dataset .h5")
    ap.add_argument("--split", default="val", choices=("val", "test"))
    ap.add_argument("--samples", type=int, default=3, metavar="K")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="only the first N faces of the split")
    ap.add_argument("--no-lpips", action="store_true", help="skip the LPIPS columns")
    ap.add_argument("--no-identity", action="store_true", help="skip the dlib identity proxy")
    ap.add_argument("--out", required=True, help="result JSON")
    args = ap.parse_args(argv)
    if args.samples < 2:
        ap.error("--samples must be >= 2 (diversity needs pairs)")
    from facehalluc.data import read_arrays
    from facehalluc.infer.engine import load_hallucinator
    from facehalluc.utils.atomic import atomic_write_text
    from facehalluc.utils.provenance import git_state
    from facehalluc.utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    t0 = time.perf_counter()
    arr = read_arrays(args.data, args.split)
    n = len(arr.aligned) if args.limit is None else min(args.limit, len(arr.aligned))
    hal = load_hallucinator(args.model, args.weights)
    lp = emb = None
    if not args.no_lpips:
        from facehalluc.evaluate.runner import LPIPS_EVAL_NETWORK, _load, network_weights
        from facehalluc.nets.lpips import build_lpips

        path, missing = network_weights(LPIPS_EVAL_NETWORK, hal.cfg)
        if missing is not None:
            print(f"sampling: LPIPS unavailable ({missing.reason}); {missing.command}", file=sys.stderr)
        else:
            lp = _load(lambda: build_lpips("0.1"), path)
    if not args.no_identity:
        from facehalluc.evaluate.identity import DlibEmbedder

        emb = DlibEmbedder.load()
    res = evaluate_sampling(hal, arr.aligned[:n], arr.masked[:n], arr.mask[:n], args.samples, args.seed, lp, emb)
    res.update(model=args.model, weights=args.weights, split=args.split, data=str(args.data), seconds=round(time.perf_counter() - t0, 1),
               command="python -m facehalluc.evaluate.sampling " + " ".join(argv or sys.argv[1:]),
               git=git_state())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(args.out), json.dumps(res, indent=1) + "\n")
    d = res["diversity"]
    print(f"{args.model} on {args.split} ({n} faces, K={args.samples}): diversity ratio context_sd "
          f"{d['context_sd']['ratio']:.3f}" + (f", LPIPS {d['lpips_pairwise']['ratio']:.3f}" if "lpips_pairwise"
                                              in d else "") +
          f"; NSS {res['mean_nss_fd']:.1f} (worst {res['worst_nss_fd']:.1f}), contrast {res['mean_contrast_ratio']:.3f}"
          + (f", dlib cosine {res['mean_dlib_identity_cosine']:.3f}" if "mean_dlib_identity_cosine" in res else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
