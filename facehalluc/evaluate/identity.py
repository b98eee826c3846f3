"""Offline identity proxy: dlib's 128-D face embedding (``dlib_face_recognition_resnet_model_v1``).

NOT the paper's match score (that needs ResNet-50-256D / VGGFace2, see ``resnet50_vggface2``); reported under
the separate names ``dlib_identity_cosine`` (mean cosine similarity of the two embeddings, higher = more alike)
and ``dlib_identity_distance`` (mean Euclidean distance; dlib's own same-person threshold is 0.6).

Per image: the face is found with dlib's HOG frontal detector on the *original* image (upsampled once); the same
rectangle is used for the hallucinated image (our outputs keep the face pixels in place).  If no face is found
the rectangle is the centred square covering 60% of the image side (recorded as a fallback).  dlib's 5-point
shape predictor fits landmarks on each image separately, ``dlib.get_face_chip`` cuts the aligned 150x150 chip
(padding 0.25) and ``compute_face_descriptor`` embeds it.

The model files come from the ``face_recognition_models`` pip package, located with ``importlib.util.find_spec``
without importing it (its ``__init__`` imports ``pkg_resources``).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from facehalluc.evaluate.metrics import cosine_similarity_rows

RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
SHAPE_MODEL_5 = "shape_predictor_5_face_landmarks.dat"
CHIP_SIZE = 150
CHIP_PADDING = 0.25
FALLBACK_FRACTION = 0.6
INSTALL_COMMAND = "pip install dlib-bin face_recognition_models"


class IdentityProxyUnavailable(RuntimeError):
    """dlib or the face_recognition_models files are not installed."""


def models_dir() -> Path:
    """Folder holding face_recognition_models' ``.dat`` files (the package is not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise IdentityProxyUnavailable(f"the face_recognition_models package is not installed "
                                       f"(provide it with: {INSTALL_COMMAND})")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    for name in (RECOGNITION_MODEL, SHAPE_MODEL_5):
        if not (folder / name).is_file():
            raise IdentityProxyUnavailable(f"{folder / name} is missing (reinstall: {INSTALL_COMMAND})")
    return folder


@dataclass
class DlibEmbedder:
    """Holds the three dlib models; :meth:`embed_pairs` gives the two (N, 128) embedding arrays."""

    detector: Any
    shape_predictor: Any
    encoder: Any

    @classmethod
    def load(cls) -> "DlibEmbedder":
        try:
            import dlib
        except ImportError as e:
            raise IdentityProxyUnavailable(f"dlib is not installed (provide it with: {INSTALL_COMMAND})") from e
        folder = models_dir()
        return cls(detector=dlib.get_frontal_face_detector(),
                   shape_predictor=dlib.shape_predictor(str(folder / SHAPE_MODEL_5)),
                   encoder=dlib.face_recognition_model_v1(str(folder / RECOGNITION_MODEL)))

    def face_rect(self, img: np.ndarray) -> tuple[Any, bool]:
        """Largest detected face (upsampled once), or the centred fallback square; (rect, detected)."""
        import dlib

        dets = list(self.detector(img, 1))
        if dets:
            return max(dets, key=lambda r: r.width() * r.height()), True
        h, w = img.shape[:2]
        s = FALLBACK_FRACTION * min(h, w)
        x0, y0 = (w - s) / 2, (h - s) / 2
        return dlib.rectangle(int(round(x0)), int(round(y0)), int(round(x0 + s)), int(round(y0 + s))), False

    def embed(self, img: np.ndarray, rect: Any) -> np.ndarray:
        """128-D embedding of the face inside ``rect`` of a uint8 RGB image."""
        import dlib

        img = np.ascontiguousarray(img, dtype=np.uint8)
        shape = self.shape_predictor(img, rect)
        chip = dlib.get_face_chip(img, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.asarray(self.encoder.compute_face_descriptor(chip), dtype=np.float64)

    def embed_pairs(self, real: Sequence[np.ndarray], fake: Sequence[np.ndarray],
                    progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Embeddings of every (real, fake) pair, and a bool array: face detected in the real image."""
        from tqdm import tqdm

        er, ef, found = [], [], []
        for r, f in tqdm(list(zip(real, fake)), desc="dlib identity", disable=not progress, unit="pair"):
            rect, ok = self.face_rect(np.ascontiguousarray(r, dtype=np.uint8))
            er.append(self.embed(r, rect))
            ef.append(self.embed(f, rect))
            found.append(ok)
        return np.stack(er), np.stack(ef), np.array(found, dtype=bool)


def identity_scores(emb_real: np.ndarray, emb_fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cosine similarity, Euclidean distance) of each embedding pair."""
    return cosine_similarity_rows(emb_real, emb_fake), np.linalg.norm(emb_real - emb_fake, axis=1)
