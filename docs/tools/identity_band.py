"""Where a sampling model loses identity: the dlib proxy with a band around the face mask given back (issue 23).

    python docs/tools/identity_band.py --data work_data/lfw.h5 --split val --bands 0,8,16,24 \
        --out results/sampling/identity_band/val.json S9=RUN_DIR[:WEIGHTS] [NAME=RUN_DIR[:WEIGHTS] ...]

For every face of the split, sample 0 of each model (the rule of ``Hallucinator.sample``, seed 0) and the
shipped deterministic model's output (``default``).  For each band width b (pixels at 128 x 128), the band is
the context pixels within Chebyshev distance b of the face mask (``cv2.dilate`` with a square, the band of
``loss.diversity_band_px`` in training); the sample's band pixels are replaced by the deterministic output's, and the dlib identity proxy's cosine to the real photo is
averaged over faces.  b = 0 is the sample as it is.  If the cosine climbs back to the deterministic model's
as b grows, the identity the samples lose lives next to the face; if not, it lives in the wider context.

``real_contexts`` is the same for face i composited onto the photo of face i+1 (the real-context convention of
:mod:`facehalluc.evaluate.sampling`): the proxy's cosine when the context is a real photo's, not the person's.
Training-free (dlib's ResNet shares nothing with any training loss).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def band_masks(masks: np.ndarray, b: int) -> np.ndarray:
    """(N, H, W) bool: context pixels within Chebyshev distance ``b`` of the face (mask > 0); all False for b = 0."""
    import cv2

    face = np.asarray(masks).reshape(len(masks), *np.asarray(masks).shape[1:3]) > 0
    if b <= 0:
        return np.zeros_like(face)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * b + 1, 2 * b + 1))
    grown = np.stack([cv2.dilate(f.astype(np.uint8), kernel) > 0 for f in face])
    return grown & ~face


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--bands", default="0,8,16,24", help="band widths in pixels at 128 x 128")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("models", nargs="+", help="NAME=RUN_DIR or NAME=RUN_DIR:WEIGHTS")
    args = ap.parse_args(argv)
    from facehalluc.data import read_arrays
    from facehalluc.evaluate.identity import DlibEmbedder, identity_scores
    from facehalluc.evaluate.sampling import draw_samples, real_context_composites
    from facehalluc.infer.engine import load_hallucinator
    from facehalluc.utils.atomic import atomic_write_text
    from facehalluc.utils.image import to_float, to_uint8
    from facehalluc.utils.provenance import git_state

    bands = [int(b) for b in args.bands.split(",")]
    arr = read_arrays(args.data, args.split)
    real = to_uint8(arr.aligned)
    masks = np.asarray(arr.mask, np.float32)
    emb = DlibEmbedder.load()
    rects, emb_real, _ = emb.embed_real(real)  # the real photos' faces, found and embedded once

    def cosine(images: np.ndarray) -> float:
        return float(identity_scores(emb_real, emb.embed_fakes(to_uint8(images), rects))[0].mean())

    base = load_hallucinator("default")
    det = draw_samples(base, arr.masked, masks, 1, 0)[:, 0]
    out: dict = {"split": args.split, "n_faces": int(len(real)), "bands_px": bands,
                 "deterministic_default": cosine(det), "models": {}}
    comps = to_float(real_context_composites(to_float(real), masks, 1)[:, 0])
    sources = {"real_contexts": comps}
    for spec in args.models:
        name, _, where = spec.partition("=")
        run, _, weights = where.partition(":")
        sources[name] = draw_samples(load_hallucinator(run, weights or None), arr.masked, masks, 1, 0)[:, 0]
    band = {b: band_masks(masks, b)[..., None] for b in bands}
    for name, images in sources.items():
        row = {}
        for b in bands:
            row[str(b)] = cosine(np.where(band[b], det, images))
        out["models"][name] = row
        print(name, {k: round(v, 4) for k, v in row.items()}, f"(deterministic {out['deterministic_default']:.4f})",
              flush=True)
    out.update(command="python docs/tools/identity_band.py " + " ".join(argv or sys.argv[1:]), git=git_state())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
