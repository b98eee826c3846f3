"""The shipped model against the median fill on raw LFW photos of held-out people, LPIPS v0.1.

    python -m facehalluc.evaluate.heldout_photos --lfw ../shared/data/lfw \
        --lpips ../shared/weights/lpips --n 48 --out results/shipped/heldout_photos48.json

Held-out people: the identities ``data/prepare.py`` keeps out of training (hash of the name,
``data.val_fraction`` of the shipped config): today's val and test splits together. Their first ``--n``
photos in sorted order in which a face is found are preprocessed from the JPEGs here, as for the training
data (not read from an HDF5). Each is scored with LPIPS v0.1 (AlexNet, official weights) against the real
aligned photo: the shipped model's out_128, and the per-pixel median of its training faces composited the
same way (face pixels kept). ``tests/store/test_shipped.py`` checks the function; the numbers quoted in the
docs come from the result file this command writes.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from facehalluc.utils.image import to_float, to_uint8


def score(lfw: Path, lpips_dir: Path, n: int = 48, cache: Path | None = None) -> dict[str, Any]:
    """Per-photo LPIPS v0.1 of the shipped model and of the median fill, with the photos used."""
    from facehalluc.config import load_config
    from facehalluc.data.schema import VAL
    from facehalluc.data.split import split_of
    from facehalluc.evaluate.baselines import composite
    from facehalluc.infer import load_hallucinator
    from facehalluc.infer.preprocessing import align_photo, make_preprocessor
    from facehalluc.nets import build_lpips
    from facehalluc.store.packed import read_train_median
    import facehalluc.nets.weight_specs  # noqa: F401 - registers the frozen nets' weight specs
    from facehalluc.weights import convert, weights_path

    h = load_hallucinator("default")
    frac = h.cfg.data.val_fraction
    photos = [p for person in sorted(lfw.iterdir()) if person.is_dir()
              and split_of(person.name, "", frac) == VAL for p in sorted(person.glob("*.jpg"))]
    pre = make_preprocessor(h.cfg)
    faces, used = [], []
    for p in photos:
        try:
            faces.append(align_photo(pre, p))
        except Exception:  # noqa: BLE001 - a photo without a detectable face is skipped, as in prepare
            continue
        used.append(str(p.relative_to(lfw)))
        if len(faces) == n:
            break
    if len(faces) < n:
        raise ValueError(f"only {len(faces)} held-out photos with a face under {lfw}")
    real = np.stack([f.aligned for f in faces])
    masked = np.stack([f.masked for f in faces])
    mask = np.stack([f.mask for f in faces])
    model_out = h.run(masked, mask)["out_128"]
    masked_u8 = to_uint8(masked)  # the preprocessor's uint8 values, exactly
    median_out = to_float(composite(read_train_median(), masked_u8, mask))
    face_kept = bool(np.array_equal(median_out[mask > 0.5], masked[mask > 0.5]))

    with tempfile.TemporaryDirectory() as tmp:
        cache = cache or Path(tmp)
        convert("lpips_alex_v0.1", [lpips_dir / "lpips_v0.1_alex.pth",
                                    lpips_dir / "alexnet_features_torchvision.pth"], cache=cache)
        lp = build_lpips("0.1")
        lp.load_weights(str(weights_path("lpips_alex_v0.1", load_config("tiny", [f"weights.cache_dir={cache}"]))))
    d_model = np.asarray(lp.predict([model_out, real], batch_size=16, verbose=0), np.float64).reshape(-1)
    d_median = np.asarray(lp.predict([median_out, real], batch_size=16, verbose=0), np.float64).reshape(-1)
    return {"n": len(faces), "photos": used, "lpips_v0.1_model": d_model.tolist(),
            "lpips_v0.1_median_fill": d_median.tolist(), "mean_model": float(d_model.mean()),
            "mean_median_fill": float(d_median.mean()), "model_better": int((d_model < d_median).sum()),
            "median_fill_keeps_face_pixels": face_kept}


if __name__ == "__main__":  # the command line: facehalluc.evaluate.cli.heldout_photos
    from facehalluc.evaluate.cli.heldout_photos import main

    raise SystemExit(main())
