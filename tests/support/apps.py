"""Inputs shared by the application tests (tests/apps/) and the sampling tests (tests/train/test_sampling.py)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

#: the recognition experiment at toy size (seconds): 32x32 faces, two tiny stages, 2 epochs
RECOGNITION_TINY = ["--size", "32", "--epochs", "2", "--widths", "8", "16", "--embedding-dim", "16", "--batch-size",
                    "16", "--min-images", "3", "--no-progress", "--no-save-weights"]


def astronaut_path() -> Path:
    """scikit-image's bundled astronaut.png (a photo with one face)."""
    import skimage

    return Path(skimage.__file__).parent / "data" / "astronaut.png"


def face_tree(root: Path, per_identity: int = 2, copies: int = 1) -> dict[str, list[str]]:
    """Identity folders of bundled face photos (random warps), one photo without a face, one broken
    file.  Returns identity -> relative paths of the photos that hold a face."""
    from PIL import Image

    from facehalluc.demo import augment_photo, bundled_face_photos
    from facehalluc.preprocess import load_rgb

    photos = bundled_face_photos()
    if not photos:
        pytest.skip("no bundled face photo (scikit-image / matplotlib sample data) installed")
    rng = np.random.default_rng(0)
    faces: dict[str, list[str]] = {}
    for p in photos:
        ident = p.stem
        (root / ident).mkdir(parents=True, exist_ok=True)
        rgb, _ = load_rgb(str(p))
        for k in range(per_identity):
            img = rgb if k == 0 else augment_photo(rgb, rng)
            for c in range(copies):
                rel = f"{ident}/{ident}_{k:02d}_{c:02d}.jpg"
                Image.fromarray(img).save(root / rel, quality=92)
                faces.setdefault(ident, []).append(rel)
    (root / "nobody").mkdir()
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(root / "nobody" / "wall.png")
    (root / "broken").mkdir()
    (root / "broken" / "broken.jpg").write_bytes(b"not a jpeg")
    return faces


def read_manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))
