"""Where a sampling model's within-face diversity lives: per block, in pixels and in edges (issue 23).

    python docs/tools/block_diversity.py --data work_data/lfw.h5 --split val \
        --out results/sampling/block_diversity/val.json S6=RUN_DIR[:WEIGHTS] [NAME=RUN_DIR[:WEIGHTS] ...]

For every face of the split, samples 0 and 1 (the rule of ``Hallucinator.sample``, seed 0) and, per block r,
two training-free distances on the hallucinated region (mask resized to r, context = below 0.5):

* ``pixel``: the channel-mean |a - b| averaged over context pixels;
* ``edge``: the channel-mean |Δa - Δb| of vertical and horizontal neighbour differences Δ, averaged over the
  pairs whose two pixels are both context (mean of the two directions): a uniform colour shift scores 0.

``real`` is the same for face i composited onto the photos of faces i+1 and i+2 (the real-context convention of
:mod:`facehalluc.evaluate.sampling`), resized to r with the anti-aliased bilinear resize.  ``ratio`` = model ÷
real.  The edge distance is also what ``loss.diversity_edge_weight`` rewards in training, so for a model
trained with that term it is not an independent measure.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def distances(a: np.ndarray, b: np.ndarray, context: np.ndarray) -> tuple[float, float]:
    """(pixel, edge) distances of two (N, r, r, 3) image sets on the (N, r, r) binary context, face-averaged."""
    pixel = (np.abs(a - b).mean(-1) * context).sum((1, 2)) / np.maximum(context.sum((1, 2)), 1)
    d = a - b
    edges = []
    for axis in (1, 2):
        diff = np.abs(np.diff(d, axis=axis)).mean(-1)
        both = (context[:, 1:] * context[:, :-1]) if axis == 1 else (context[:, :, 1:] * context[:, :, :-1])
        edges.append((diff * both).sum((1, 2)) / np.maximum(both.sum((1, 2)), 1))
    return float(pixel.mean()), float((0.5 * (edges[0] + edges[1])).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("models", nargs="+", help="NAME=RUN_DIR or NAME=RUN_DIR:WEIGHTS")
    args = ap.parse_args(argv)
    import keras

    from facehalluc.data import read_arrays
    from facehalluc.evaluate.sampling import real_context_composites, sample_batches
    from facehalluc.infer.engine import load_hallucinator
    from facehalluc.nets.ops import resize_bilinear
    from facehalluc.utils.image import to_float

    arr = read_arrays(args.data, args.split)
    mask = np.asarray(arr.mask, np.float32)
    real = to_float(real_context_composites(arr.aligned, mask, 2))  # (N, 2, 128, 128, 3)

    def resized(x, r):
        return x if r == x.shape[1] else keras.ops.convert_to_numpy(resize_bilinear(x, r, antialias=True))

    per_block: dict[int, tuple] = {}  # r -> (context, real pixel and edge distances): the same for every model

    def real_at(r: int) -> tuple:
        if r not in per_block:
            context = (resized(mask[..., None], r)[..., 0] < 0.5).astype(np.float32)
            per_block[r] = (context, *distances(resized(real[:, 0], r), resized(real[:, 1], r), context))
        return per_block[r]

    result = {"data": args.data, "split": args.split, "faces": int(len(mask)), "command": " ".join(
        ["python", "docs/tools/block_diversity.py", *(argv if argv is not None else sys.argv[1:])]), "models": {}}
    for spec in args.models:
        name, path = spec.split("=", 1)
        run, weights = path.split(":", 1) if ":" in path else (path, None)
        h = load_hallucinator(run, weights)
        s: list[dict[str, list]] = [{}, {}]
        for _, got in sample_batches(h, arr.masked, mask, 2, 0):  # the samples evaluate.sampling scores
            for j in (0, 1):
                for key, v in got[j].items():
                    s[j].setdefault(key, []).append(v)
        rows = {}
        for r in h.cfg.model.resolutions:
            context, rp, re_ = real_at(r)
            mp, me = distances(*(np.concatenate(s[j][f"out_{r}"]) for j in (0, 1)), context)
            rows[str(r)] = {"pixel": {"model": mp, "real": rp, "ratio": mp / rp},
                            "edge": {"model": me, "real": re_, "ratio": me / re_}}
            print(f"{name} block {r:>3}: pixel {mp:.4f} / real {rp:.4f} = {mp / rp:.2f}   "
                  f"edge {me:.4f} / real {re_:.4f} = {me / re_:.2f}", flush=True)
        result["models"][name] = {"model": run, "weights": weights, "blocks": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
