"""The training demo's data: photos that ship with installed packages, augmented variants of them, and
the dataset file made from them or from a folder (:mod:`facehalluc.apps.demo`)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ...config import Config
from ...utils.image import to_float, to_uint8


def bundled_face_photos() -> list[Path]:
    """Face photos shipped by installed packages (no download): skimage's astronaut, matplotlib's
    Grace Hopper.  Missing ones are skipped."""
    found: list[Path] = []
    try:
        import skimage

        p = Path(skimage.__file__).resolve().parent / "data" / "astronaut.png"
        if p.is_file():
            found.append(p)
    except ImportError:  # pragma: no cover
        pass
    try:
        import matplotlib

        p = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        if p.is_file():
            found.append(p)
    except ImportError:  # pragma: no cover
        pass
    return found


def augment_photo(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random variant of a uint8 RGB photo: similarity warp (rotation +-12 deg, scale 0.85-1.15,
    shift +-6 %) about the centre with reflected borders, mirroring (p = 0.5), and colour jitter
    (brightness, contrast, saturation +-15 %, per-channel gain +-6 %)."""
    import cv2

    h, w = photo.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-12, 12), rng.uniform(0.85, 1.15))
    m[:, 2] += rng.uniform(-0.06, 0.06, 2) * (w, h)
    img = cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if rng.random() < 0.5:
        img = img[:, ::-1]
    x = to_float(img)
    grey = x.mean(-1, keepdims=True)
    x = grey + (x - grey) * rng.uniform(0.85, 1.15)  # saturation
    x = x.mean() + (x - x.mean()) * rng.uniform(0.85, 1.15)  # contrast
    x = x * rng.uniform(0.85, 1.15) * rng.uniform(0.94, 1.06, 3)  # brightness, colour balance
    return to_uint8(x)


def build_bundled_dataset(out: Path, cfg: Config, n_train: int = 48, n_val: int = 4, seed: int = 0) -> Path:
    """Dataset file from the bundled photos: ``n_train`` / ``n_val`` augmented variants per photo.

    Train and val variants come from disjoint random draws; identity = the photo's stem.
    """
    from ...data import FaceArrays, write_h5
    from ...preprocess import FacePreprocessor, PreprocessError, load_rgb

    photos = bundled_face_photos()
    if not photos:
        raise FileNotFoundError("no bundled face photos found (need scikit-image or matplotlib); "
                                "pass --data DIR with face photos instead")
    pre = FacePreprocessor(cfg.preprocess)
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {k: [] for k in ("aligned", "masked", "mask", "landmarks", "source", "identity",
                                               "split")}
    for path in photos:
        photo, _ = load_rgb(str(path))
        for split, n in ((0, n_train), (1, n_val)):
            made, tries = 0, 0
            while made < n and tries < 3 * n:
                tries += 1
                variant = photo if (made == 0 and split == 1) else augment_photo(photo, rng)
                try:
                    s = pre.process(variant, name=f"{path.name}#{tries}")
                except PreprocessError:
                    continue
                for k, v in (("aligned", s.aligned), ("masked", s.masked), ("mask", s.mask),
                             ("landmarks", s.landmarks), ("source", f"{path.name}#aug{split}_{made}"),
                             ("identity", path.stem), ("split", split)):
                    parts[k].append(v)
                made += 1
    arrays = FaceArrays(aligned=np.stack(parts["aligned"]), masked=np.stack(parts["masked"]),
                        mask=np.stack(parts["mask"]).astype(np.uint8),
                        landmarks=np.stack(parts["landmarks"]).astype(np.float32),
                        source=parts["source"], identity=parts["identity"],
                        split=np.asarray(parts["split"], np.uint8))
    import yaml

    pyaml = yaml.safe_dump(dataclasses.asdict(cfg.preprocess), sort_keys=False)
    return write_h5(out, arrays, pyaml, extra_attrs={"generator": "facehalluc.demo (bundled photos, augmented)"})


def build_folder_dataset(src: Path, out: Path, cfg: Config, limit: int | None) -> Path:
    from ...data.prepare import prepare_dataset

    prepare_dataset(src, out, cfg, workers=0, limit=limit, val_fraction=0.1, overwrite=True, progress=True)
    return out
