#!/usr/bin/env python
"""Parity of the Keras port of dlib's face-recognition ResNet (``facehalluc/nets/dlib_resnet.py``) with
dlib itself on N LFW photos: max / mean absolute difference of the 128-D embeddings.

    python benchmarks/dlib_parity.py --lfw ../shared/data/lfw --n 50 --out results/dlib/parity_lfw50.json

Faces: the first image of each LFW person in name order, the first N in which dlib's HOG detector (upsample
1) finds a face (the largest is used). For each, dlib's 5-point shape predictor gives the landmarks, dlib
cuts the 150×150 chip (``get_face_chip``, padding 0.25) and computes the reference embedding
(``face_recognition_model_v1.compute_face_descriptor(img, shape, 0)``); the port embeds the same chip.
So the comparison is of the two networks on identical inputs. Also reported: the largest difference of
the pairwise distances between consecutive faces (what the 0.6 same-person threshold sees).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def lfw_first_images(lfw: Path) -> list[Path]:
    """The first photo of every person folder, folders in name order."""
    out = []
    for person in sorted(p for p in lfw.iterdir() if p.is_dir()):
        imgs = sorted(person.glob("*.jpg"))
        if imgs:
            out.append(imgs[0])
    return out


def dlib_chips(lfw: Path, n: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(files, uint8 chips [n,150,150,3], dlib embeddings [n,128]) of the first ``n`` photos with a face."""
    import dlib

    from facehalluc.evaluate.identity import SHAPE_MODEL_5, models_dir
    from facehalluc.evaluate.images import load_image
    from facehalluc.nets import dlib_resnet as R

    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(str(models_dir() / SHAPE_MODEL_5))
    enc = dlib.face_recognition_model_v1(str(R.installed_dat_path()))
    files, chips, embs = [], [], []
    for p in lfw_first_images(lfw):
        img = np.ascontiguousarray(load_image(p, size=None), dtype=np.uint8)
        rects = list(det(img, 1))
        if not rects:
            continue
        shape = sp(img, max(rects, key=lambda r: r.width() * r.height()))
        chips.append(np.asarray(dlib.get_face_chip(img, shape, size=R.CHIP_SIZE, padding=R.CHIP_PADDING)))
        embs.append(np.asarray(enc.compute_face_descriptor(img, shape, 0)))
        files.append(str(p.relative_to(lfw)))
        if len(files) == n:
            break
    if len(files) < n:
        raise SystemExit(f"only {len(files)} faces found under {lfw}")
    return files, np.stack(chips), np.stack(embs)


def dump(res: dict) -> str:
    """One top-level key per line (the per-face lists stay one line each)."""
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in res.items()) + "\n}\n"


def write_result(out: Path | None, res: dict) -> None:
    """Writes ``res`` to ``out`` (when given) in the :func:`dump` layout and says so."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(dump(res))
        print(f"wrote {out}")


def provenance(argv: list[str], script: str = __file__) -> dict:
    import platform

    from facehalluc.utils.provenance import git_state, library_versions, machine

    return {"command": "python " + " ".join([str(Path(script).resolve().relative_to(ROOT)), *argv]),
            "git": git_state(ROOT), "libraries": library_versions(), "machine": machine(),
            "date": time.strftime("%Y-%m-%d", time.gmtime()), "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=Path, default=ROOT.parent / "shared" / "data" / "lfw")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--out", type=Path, help="result JSON (default: print only)")
    args = ap.parse_args(argv)

    from facehalluc.nets import dlib_resnet as R

    files, chips, want = dlib_chips(args.lfw, args.n)
    port = R.dlib_resnet_from_dat(R.installed_dat_path())
    got = port.predict(chips.astype(np.float32), batch_size=32, verbose=0)
    diff = np.abs(got.astype(np.float64) - want)
    dist = lambda e: np.linalg.norm(e[1:] - e[:-1], axis=1)  # noqa: E731
    d_port, d_dlib = dist(got.astype(np.float64)), dist(want)
    res = {"what": "Keras port of dlib_face_recognition_resnet_model_v1 vs dlib's compute_face_descriptor "
                   "(num_jitters=0) on the same 150x150 chips",
           "n_faces": len(files), "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
           "max_abs_diff_per_face": [float(x) for x in diff.max(axis=1)],
           "max_abs_pair_distance_diff": float(np.abs(d_port - d_dlib).max()),
           "same_decisions_at_0.6": bool(((d_port < 0.6) == (d_dlib < 0.6)).all()),
           "files": files, **provenance(argv)}
    print(f"{len(files)} LFW faces: max |port - dlib| {res['max_abs_diff']:.2e}, mean {res['mean_abs_diff']:.2e}; "
          f"max pair-distance difference {res['max_abs_pair_distance_diff']:.2e}")
    write_result(args.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
