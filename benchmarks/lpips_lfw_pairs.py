"""LPIPS v0.0 / v0.1 (AlexNet) distances for a few LFW pairs, with the converted official weights.

    python benchmarks/lpips_lfw_pairs.py [--lfw ../shared/data/lfw]

Needs `python -m facehalluc.weights convert lpips_alex_v0.0 ...` and `... v0.1` done first.
Images are the 250x250 deep-funneled LFW JPEGs, RGB in [0, 1], compared at full size.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

PAIRS = [("George_W_Bush/George_W_Bush_0001.jpg", "George_W_Bush/George_W_Bush_0002.jpg"),
         ("George_W_Bush/George_W_Bush_0001.jpg", "Colin_Powell/Colin_Powell_0001.jpg")]


def main() -> None:
    from facehalluc.utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from facehalluc.config import load_config
    from facehalluc.nets import lpips_from_config

    p = argparse.ArgumentParser()
    p.add_argument("--lfw", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/lfw")
    args = p.parse_args()
    load = lambda rel: np.asarray(Image.open(args.lfw / rel).convert("RGB"), np.float32)[None] / 255.0  # noqa: E731
    for version in ("0.0", "0.1"):
        model = lpips_from_config(load_config("paper", [f"loss.lpips_version={version}"]))
        for a, b in PAIRS:
            d = float(keras.ops.convert_to_numpy(model([load(a), load(b)]))[0])
            print(f"LPIPS v{version}  {Path(a).stem} vs {Path(b).stem}: {d:.4f}")


if __name__ == "__main__":
    main()
