"""Offline identity proxy: dlib's 128-D face embedding (``dlib_face_recognition_resnet_model_v1``).

NOT the paper's match score (that needs ResNet-50-256D / VGGFace2, see ``resnet50_vggface2``); reported under
the separate names ``dlib_identity_cosine`` (mean cosine similarity of the two embeddings, higher = more alike)
and ``dlib_identity_distance`` (mean Euclidean distance; dlib's own same-person threshold is 0.6).

Per image: the face is found with dlib's HOG frontal detector on the *original* image (upsampled once); the same
rectangle is used for the hallucinated image (our outputs keep the face pixels in place).  If no face is found
the rectangle is the centred square covering 60% of the image side (recorded as a fallback).  dlib's 5-point
shape predictor fits landmarks on each image separately, ``dlib.get_face_chip`` cuts the aligned 150x150 chip
(padding 0.25), and the chips are embedded in batches by the Keras port of dlib's ResNet
(:mod:`facehalluc.nets.dlib_resnet`, filled straight from the installed ``.dat``), which gives dlib's
``compute_face_descriptor(chip)`` to within 1e-6 (tests/nets/test_dlib_resnet.py) several times faster.
``DlibEmbedder.load(backend="dlib")`` embeds with dlib itself instead.

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
    """dlib's detector and 5-point shape predictor cut the chips; ``encoder`` embeds them.

    ``encoder`` is the Keras port (``backend="keras"``, batched) or dlib's ``face_recognition_model_v1``
    (``backend="dlib"``, one chip at a time).  :meth:`embed_pairs` gives the two (N, 128) embedding arrays.
    """

    detector: Any
    shape_predictor: Any
    encoder: Any
    backend: str = "keras"
    batch_size: int = 32

    @classmethod
    def load(cls, backend: str = "keras", batch_size: int = 32) -> "DlibEmbedder":
        if backend not in ("keras", "dlib"):
            raise ValueError(f"backend must be 'keras' or 'dlib', got {backend!r}")
        try:
            import dlib
        except ImportError as e:
            raise IdentityProxyUnavailable(f"dlib is not installed (provide it with: {INSTALL_COMMAND})") from e
        folder = models_dir()
        if backend == "keras":
            from facehalluc.nets.dlib_resnet import dlib_resnet_from_dat

            encoder = dlib_resnet_from_dat(folder / RECOGNITION_MODEL, input_range=255.0)
        else:
            encoder = dlib.face_recognition_model_v1(str(folder / RECOGNITION_MODEL))
        return cls(detector=dlib.get_frontal_face_detector(),
                   shape_predictor=dlib.shape_predictor(str(folder / SHAPE_MODEL_5)),
                   encoder=encoder, backend=backend, batch_size=batch_size)

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

    def chip(self, img: np.ndarray, rect: Any) -> np.ndarray:
        """dlib's aligned 150x150 uint8 chip of the face inside ``rect`` (5-point landmarks, padding 0.25)."""
        import dlib

        img = np.ascontiguousarray(img, dtype=np.uint8)
        shape = self.shape_predictor(img, rect)
        return np.asarray(dlib.get_face_chip(img, shape, size=CHIP_SIZE, padding=CHIP_PADDING), dtype=np.uint8)

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 128) float64 embeddings of uint8 150x150 RGB chips."""
        if len(chips) == 0:
            return np.zeros((0, 128), np.float64)
        if self.backend == "dlib":
            return np.stack([np.asarray(self.encoder.compute_face_descriptor(np.ascontiguousarray(c)),
                                        np.float64) for c in chips])
        x = np.stack([np.asarray(c, np.float32) for c in chips])
        out = [np.asarray(self.encoder.predict_on_batch(x[i:i + self.batch_size]))
               for i in range(0, len(x), self.batch_size)]
        return np.concatenate(out).astype(np.float64)

    def embed(self, img: np.ndarray, rect: Any) -> np.ndarray:
        """128-D embedding of the face inside ``rect`` of a uint8 RGB image."""
        return self.embed_chips([self.chip(img, rect)])[0]

    def embed_pairs(self, real: Sequence[np.ndarray], fake: Sequence[np.ndarray],
                    progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Embeddings of every (real, fake) pair, and a bool array: face detected in the real image.

        Chips are cut one image at a time (dlib), then embedded in batches of ``batch_size``.  To compare several
        fake sets with one real set, call :meth:`embed_real` once and :meth:`embed_fakes` per set.
        """
        if len(real) != len(fake):
            raise ValueError(f"embed_pairs: {len(real)} real images but {len(fake)} fakes")
        rects, emb_real, found = self.embed_real(real, progress)
        return emb_real, self.embed_fakes(fake, rects, progress), found

    def embed_real(self, real: Sequence[np.ndarray], progress: bool = False) -> tuple[list, np.ndarray, np.ndarray]:
        """``(rects, embeddings, detected)`` of the real images; ``rects`` is what their fakes are cut with
        (:meth:`embed_fakes`): the face found in the real image, so a fake cannot move the chip."""
        from tqdm import tqdm

        rects, chips, found = [], [], []
        for r in tqdm(real, desc="dlib identity (real)", disable=not progress, unit="image"):
            r = np.ascontiguousarray(r, dtype=np.uint8)
            rect, ok = self.face_rect(r)
            rects.append(rect)
            chips.append(self.chip(r, rect))
            found.append(ok)
        return rects, self.embed_chips(chips), np.array(found, dtype=bool)

    def embed_fakes(self, fake: Sequence[np.ndarray], rects: Sequence[Any], progress: bool = False) -> np.ndarray:
        """(N, 128) embeddings of ``fake[i]`` cut with ``rects[i]`` (from :meth:`embed_real`)."""
        from tqdm import tqdm

        if len(fake) != len(rects):
            raise ValueError(f"embed_fakes: {len(fake)} images but {len(rects)} face rectangles")
        chips = [self.chip(f, rect) for f, rect in tqdm(list(zip(fake, rects)), desc="dlib identity (fake)",
                                                       disable=not progress, unit="image")]
        return self.embed_chips(chips)


def identity_scores(emb_real: np.ndarray, emb_fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cosine similarity, Euclidean distance) of each embedding pair."""
    return cosine_similarity_rows(emb_real, emb_fake), np.linalg.norm(emb_real - emb_fake, axis=1)
