"""Synthetic LPIPS source files (AlexNet features + the v0.0 / v0.1 linear heads) in PyTorch's formats."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from support.torch_writer import save_torch_file


def write_synthetic_lpips_files(tmp: Path) -> tuple[Path, Path, Path]:
    """Random AlexNet features (zip format) and lin heads v0.0 / v0.1 (legacy format) in ``tmp``."""
    rng = np.random.default_rng(0)
    shapes = {0: (64, 3, 11, 11), 3: (192, 64, 5, 5), 6: (384, 192, 3, 3), 8: (256, 384, 3, 3),
              10: (256, 256, 3, 3)}
    alex = {}
    for idx, s in shapes.items():
        fan_in = s[1] * s[2] * s[3]
        alex[f"features.{idx}.weight"] = (rng.standard_normal(s) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        alex[f"features.{idx}.bias"] = (0.1 * rng.standard_normal(s[0])).astype(np.float32)
    lins = {f"lin{k}.model.1.weight": rng.random((1, c, 1, 1)).astype(np.float32)
            for k, c in enumerate((64, 192, 384, 256, 256))}
    a = save_torch_file(alex, tmp / "alexnet_features_torchvision.pth")
    l0 = save_torch_file(lins, tmp / "lpips_v0.0_alex.pth", legacy=True)
    l1 = save_torch_file({k: v * 0.5 for k, v in lins.items()}, tmp / "lpips_v0.1_alex.pth", legacy=True)
    return a, l0, l1
