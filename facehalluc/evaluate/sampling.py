"""Several hallucinations per face (issue 23): how different they are, how real each looks, who they show.

    python -m facehalluc.evaluate.sampling --model runs/S1_imle --data work_data/lfw.h5 --split test \
        --samples 3 --out results/sampling/test/S1_imle.json

For the faces of one split, ``K`` samples per face (sample j of face i: noise ``default_rng((seed, j, i))``,
the rule of :meth:`facehalluc.infer.Hallucinator.sample`) and:

* **within-face diversity**, two ways:
  - ``lpips_pairwise``: mean LPIPS v0.1 over the K(K-1)/2 pairs of one face's samples, averaged over faces
    (LPIPS v0.1 shares AlexNet with the training loss L_pc v0.0: a distance here, not a quality claim);
  - ``context_sd``: the per-pixel standard deviation across the K samples on the hallucinated region (RGB
    in [0, 1], eroded by nothing), averaged: training-free.

  Both are divided by the same quantity for **real contexts**: face i composited onto the K real photos of
  faces i+1 … i+K of the split (their own context and background around face i's pixels).  ``ratio`` = model
  ÷ real; the issue's bar is ≥ 0.5.
* **realism of every sample**: the training-free NSS Fréchet distance and contrast ratio
  (:mod:`facehalluc.evaluate.realism`) of the sample-j set against the real photos, for each j;
* **identity kept**: the dlib identity proxy's cosine (real photo vs sample j), for each j;
* LPIPS v0.1 of each sample to the real photo (not independent of L_pc, as above).

A deterministic model gives K identical samples: diversity 0 by construction.
"""
from __future__ import annotations

import itertools

import numpy as np

from facehalluc.evaluate import realism as R
from facehalluc.utils.image import to_float, to_uint8


def real_context_composites(aligned: np.ndarray, masks: np.ndarray, k: int) -> np.ndarray:
    """(N, K, H, W, 3): face i's pixels (mask non-zero) over the photos of faces i+1 … i+K (mod N)."""
    x = np.asarray(aligned)
    n = len(x)
    if n <= k:
        raise ValueError(f"need more than K={k} faces for real contexts, got {n}")
    face = (np.asarray(masks) > 0)
    face = face[..., None] if face.ndim == 3 else face
    out = np.empty((n, k) + x.shape[1:], x.dtype)
    for i in range(n):
        for j in range(k):
            out[i, j] = np.where(face[i], x[i], x[(i + 1 + j) % n])
    return out


def context_sd(samples: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(N,) mean over the hallucinated region of the per-pixel s.d. across each face's K samples ([0, 1] RGB)."""
    s = to_float(samples, np.float64)
    ctx = R.context_region(masks, 0)
    sd = s.std(axis=1).mean(axis=-1)  # (N, H, W)
    return np.array([sd[i][ctx[i]].mean() for i in range(len(sd))])


def lpips_pairwise(samples: np.ndarray, lpips_model, batch_size: int = 32) -> np.ndarray:
    """(N,) mean LPIPS over the pairs of each face's K samples (``lpips_model``: [a, b] -> (B,) distances)."""
    s = to_float(samples)
    n, k = s.shape[:2]
    pairs = list(itertools.combinations(range(k), 2))
    if not pairs:
        return np.zeros(n)
    a = np.concatenate([s[:, p] for p, _ in pairs])
    b = np.concatenate([s[:, q] for _, q in pairs])
    d = np.concatenate([np.asarray(lpips_model([a[i:i + batch_size], b[i:i + batch_size]], training=False),
                                   np.float64).reshape(-1) for i in range(0, len(a), batch_size)])
    return d.reshape(len(pairs), n).mean(axis=0)


def sample_batches(hallucinator, masked: np.ndarray, masks: np.ndarray, k: int, seed: int, batch_size: int = 32):
    """Yields ``(rows, samples)`` over the faces in batches: ``samples[j]`` is sample j of the faces ``rows`` (a
    slice), every output block (``{"out_r": array}``); face key = its row in the split, so a face's samples do
    not depend on the batching."""
    n = len(masked)
    for s in range(0, n, batch_size):
        sl = slice(s, min(n, s + batch_size))
        yield sl, hallucinator.sample(to_float(masked[sl]), np.asarray(masks[sl], np.float32), k, seed,
                                      keys=list(range(sl.start, sl.stop)))


def draw_samples(hallucinator, masked: np.ndarray, masks: np.ndarray, k: int, seed: int,
                 batch_size: int = 32) -> np.ndarray:
    """(N, K, H, W, 3) float32: ``k`` samples of every face (face key = its row in the split)."""
    out = None
    for sl, outs in sample_batches(hallucinator, masked, masks, k, seed, batch_size):
        block = np.stack([o["out_128"] for o in outs], axis=1)
        if out is None:
            out = np.empty((len(masked),) + block.shape[1:], np.float32)
        out[sl] = block
    return out


def evaluate_sampling(hallucinator, aligned: np.ndarray, masked: np.ndarray, masks: np.ndarray, k: int,
                      seed: int = 0, lpips_model=None, embedder=None, progress: bool = False) -> dict:
    """Every measure of the module docstring, as a JSON-ready dict."""
    samples = draw_samples(hallucinator, masked, masks, k, seed)
    real = np.asarray(aligned)
    real_f = to_float(real)
    comps = real_context_composites(real_f, masks, k)
    out: dict = {"n_faces": int(len(real)), "samples_per_face": int(k), "seed": int(seed),
                 "stochastic": bool(getattr(hallucinator, "stochastic", False))}
    sd_m, sd_r = context_sd(samples, masks), context_sd(comps, masks)
    out["diversity"] = {"context_sd": {"model": float(sd_m.mean()), "real_contexts": float(sd_r.mean()),
                                       "ratio": float(sd_m.mean() / sd_r.mean())}}
    if lpips_model is not None:
        lp_m, lp_r = lpips_pairwise(samples, lpips_model), lpips_pairwise(comps, lpips_model)
        out["diversity"]["lpips_pairwise"] = {"model": float(lp_m.mean()), "real_contexts": float(lp_r.mean()),
                                              "ratio": float(lp_m.mean() / lp_r.mean()),
                                              "network": "lpips_alex_v0.1 (shares AlexNet with L_pc)"}
    per_sample = []
    feats_real = R.nss_features(real, masks)
    contrast_real = R.region_contrast(real, masks)
    if embedder is not None:  # the real photos' faces are found and embedded once, for every sample
        from facehalluc.evaluate.identity import identity_scores

        rects, emb_real, _ = embedder.embed_real(to_uint8(real), progress=progress)
    for j in range(k):
        fake = samples[:, j]
        rec = {"sample": j, "nss_fd": R.nss_fd(feats_real, R.nss_features(fake, masks)),
               "contrast_ratio": float(R.region_contrast(fake, masks).mean() / contrast_real.mean())}
        if lpips_model is not None:
            d = np.concatenate([np.asarray(lpips_model([real_f[i:i + 32], fake[i:i + 32]], training=False),
                                           np.float64).reshape(-1) for i in range(0, len(fake), 32)])
            rec["lpips_v0.1_to_real"] = float(d.mean())
        if embedder is not None:
            emb_fake = embedder.embed_fakes(to_uint8(fake), rects, progress=progress)
            rec["dlib_identity_cosine"] = float(identity_scores(emb_real, emb_fake)[0].mean())
        per_sample.append(rec)
    out["per_sample"] = per_sample
    for key in ("nss_fd", "contrast_ratio", "lpips_v0.1_to_real", "dlib_identity_cosine"):
        vals = [r[key] for r in per_sample if key in r]
        if vals:
            out[f"mean_{key}"] = float(np.mean(vals))
            out[f"worst_{key}"] = float(min(vals) if key in ("dlib_identity_cosine",) else
                                        max(vals) if key != "contrast_ratio" else min(vals, key=lambda v: abs(1 - v)))
    return out


if __name__ == "__main__":  # the command line: facehalluc.evaluate.cli.sampling
    from facehalluc.evaluate.cli.sampling import main

    raise SystemExit(main())
