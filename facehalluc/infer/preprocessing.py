"""Adapter between inference and ``facehalluc.preprocess.FacePreprocessor`` (detect, align, mask)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..utils.image import to_float


@dataclass
class AlignedFace:
    photo: np.ndarray  # (H,W,3) uint8, the decoded photo
    aligned: np.ndarray  # (S,S,3) float32 [0,1]
    masked: np.ndarray  # (S,S,3) float32 [0,1], 0 outside the landmark hull
    mask: np.ndarray  # (S,S) float32 {0,1}
    matrix: np.ndarray  # 2x3 photo -> crop similarity (cv2 pixel-centre convention)


def make_preprocessor(cfg: Config):
    from ..preprocess import FacePreprocessor

    return FacePreprocessor(cfg.preprocess)


def align_photo(preprocessor, path: Path) -> AlignedFace:
    """Reads and preprocesses one photo.  Raises the preprocessor's errors (``UnreadableImageError``,
    ``NoFaceError``), whose messages name the file."""
    from ..preprocess import load_rgb, similarity_from_eyes

    photo, where = load_rgb(str(path))
    s = preprocessor.process(photo, name=where)
    matrix = np.asarray(s.transform, np.float64)
    if not np.any(matrix[:, :2]):  # no transform recorded: rebuild it from the eye centres
        matrix = similarity_from_eyes(s.eye_centres[0], s.eye_centres[1], preprocessor.cfg)
    return AlignedFace(photo, to_float(s.aligned), to_float(s.masked),
                       s.mask.astype(np.float32), matrix)
