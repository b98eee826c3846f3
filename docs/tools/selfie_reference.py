#!/usr/bin/env python
"""Reference masks of the MediaPipe runtime for tests/fixtures/selfie_reference.npz (parity test).

Run with a *separate* virtual environment holding ``mediapipe==0.10.14`` (it needs protobuf<5 and
numpy<2, which TensorFlow 2.21 does not accept, so it cannot live in the package's environment):

    python3.11 -m venv /tmp/mpvenv
    /tmp/mpvenv/bin/pip install mediapipe==0.10.14 "numpy<2" pillow
    /tmp/mpvenv/bin/python docs/tools/selfie_reference.py --lfw ../shared/data/lfw \
        --photos Aaron_Patterson/Aaron_Patterson_0001.jpg ... --out tests/fixtures/selfie_reference.npz

For every photo (path relative to ``--lfw``) it stores MediaPipe's ``SelfieSegmentation(
model_selection=0)`` mask of the 250x250 photo itself (``full_<i>``: the runtime's pre-processing,
network and post-processing end to end), and for the first ``--n-raw`` photos also the photo
stretched to 256x256 (``raw_input_<i>``, uint8) and the mask of that image (``raw_<i>``): at the
network's own input size the runtime's resampling steps are identities, so this mask is the network
output for ``raw_input_<i> / 255``.  Masks are stored as uint16, ``round(p * 65535)`` (quantisation
error <= 7.7e-6; a third of the compressed size of float32).  Imports nothing from facehalluc.
"""
import argparse
import json

import mediapipe as mp
import numpy as np
from PIL import Image


def to_u16(mask: np.ndarray) -> np.ndarray:
    return np.round(np.clip(mask.astype(np.float64), 0, 1) * 65535).astype(np.uint16)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lfw", required=True)
    p.add_argument("--photos", nargs="+", required=True)
    p.add_argument("--n-raw", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
    out = {"photos": np.array(a.photos), "mediapipe_version": np.array(mp.__version__)}
    for i, rel in enumerate(a.photos):
        img = np.asarray(Image.open(f"{a.lfw}/{rel}").convert("RGB"))
        out[f"full_{i}"] = to_u16(seg.process(img).segmentation_mask)
        if i < a.n_raw:
            raw = np.asarray(Image.fromarray(img).resize((256, 256), Image.BICUBIC))
            out[f"raw_input_{i}"] = raw
            out[f"raw_{i}"] = to_u16(seg.process(np.ascontiguousarray(raw)).segmentation_mask)
    np.savez_compressed(a.out, **out)
    print(json.dumps({k: list(v.shape) for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
