"""Photo -> aligned 128x128 face, convex-hull face mask and masked face (paper §4 "Training Data").

Steps (:meth:`FacePreprocessor.process`):

1. read the photo (:func:`facehalluc.preprocess.io.load_rgb`: EXIF rotation, any pixel mode -> RGB);
2. detect faces with dlib's HOG frontal face detector on a copy whose longer side is at most
   ``max_detect_side``: first without upsampling and, only when that finds no face scoring at least
   ``detector_first_pass_min_score``, again upsampled ``detector_upsample`` times
   (``detector_upsample_retry``; False = one pass at ``detector_upsample``); keep the largest face;
3. 68 landmarks with dlib's shape predictor, run on the full-resolution photo;
4. similarity transform that puts the two eye centres (mean of each eye's six landmarks) on
   ``(left_eye_x, eye_y)`` and ``(right_eye_x, eye_y)`` of the output, computed in the photo's own
   coordinates and applied once to the full-quality photo (area pre-shrink, then bilinear);
5. mask = convex hull of the transformed landmarks; masked = aligned x mask.

Pixels of the aligned image that lie inside the hull and are exactly (0, 0, 0) are set to
(1, 1, 1), so that ``mask == any(masked > 0)`` holds exactly and the mask can always be recovered
from the masked face (which is what the inference model does).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..config import PreprocessConfig
from ..utils.image import to_float
from .errors import LandmarkModelError, NoFaceError, PreprocessError, UnreadableImageError
from .geometry import (eye_centres, hull_mask, outside_fraction, similarity_from_eyes, transform_points,
                       warp_similarity)
from .io import ImageInput, load_rgb

LANDMARK_MODEL_FILE = "shape_predictor_68_face_landmarks.dat"


def default_landmark_model_path() -> Path:
    """Path of the 68-point predictor shipped by the PyPI package ``face-recognition-models``.

    The package is located with ``importlib.util.find_spec`` and *not imported* (its ``__init__``
    imports ``pkg_resources``, which recent setuptools no longer provide).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LandmarkModelError(
            LANDMARK_MODEL_FILE, "the package face-recognition-models is not installed "
            "(pip install face-recognition-models) and preprocess.landmark_model is not set")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / LANDMARK_MODEL_FILE


def landmark_model_path(cfg: PreprocessConfig) -> Path:
    return Path(cfg.landmark_model) if cfg.landmark_model else default_landmark_model_path()


@dataclass
class Sample:
    """One preprocessed face.  Images are uint8 as stored; use :meth:`as_float` / :meth:`pyramid`
    for float32 [0, 1] arrays."""

    aligned: np.ndarray  # (S,S,3) uint8 RGB
    masked: np.ndarray  # (S,S,3) uint8, 0 outside the hull
    mask: np.ndarray  # (S,S) uint8 in {0, 1}
    landmarks: np.ndarray  # (68,2) float32, aligned frame
    source: str
    # diagnostics
    face_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # left, top, right, bottom in the photo
    n_faces: int = 1
    eye_centres: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))  # in the photo
    transform: np.ndarray = field(default_factory=lambda: np.zeros((2, 3)))  # photo -> aligned
    outside_fraction: float = 0.0  # share of the crop outside the photo (filled by border_mode)
    detect_upsample: int = -1  # detector upsampling of the pass that found the face (-1: unknown)

    def as_float(self) -> dict[str, np.ndarray]:
        return {"aligned": to_float(self.aligned),
                "masked": to_float(self.masked),
                "mask": self.mask[..., None].astype(np.float32)}

    def pyramid(self, resolutions=(8, 16, 32, 64, 128)) -> dict[str, np.ndarray]:
        """float32 [0, 1] ``{masked_r, mask_r, full_r}`` resized bilinearly without anti-aliasing
        (cv2.INTER_LINEAR, half-pixel centres), the numpy twin of the training pipeline."""
        out: dict[str, np.ndarray] = {}
        f = self.as_float()
        size = self.aligned.shape[0]
        for key, img in (("masked", f["masked"]), ("mask", f["mask"]), ("full", f["aligned"])):
            for r in resolutions:
                res = img if r == size else cv2.resize(img, (r, r), interpolation=cv2.INTER_LINEAR)
                out[f"{key}_{r}"] = res.reshape(r, r, img.shape[2])
        return out


class FacePreprocessor:
    """Detector + landmark model, loaded once; :meth:`process` turns one photo into a :class:`Sample`."""

    def __init__(self, cfg: PreprocessConfig, models_from: "FacePreprocessor | None" = None):
        """Loads the detector and the landmark model (about 100 MB, seconds); ``models_from`` reuses
        those of another preprocessor with the same landmark model file (e.g. to try other
        alignment settings cheaply)."""
        import dlib

        self.cfg = cfg
        if not 0.0 <= cfg.left_eye_x < cfg.right_eye_x <= 1.0 or not 0.0 <= cfg.eye_y <= 1.0:
            raise ValueError("preprocess: need 0 <= left_eye_x < right_eye_x <= 1 and 0 <= eye_y <= 1")
        path = landmark_model_path(cfg)
        self.landmark_model_file = path
        if models_from is not None and models_from.landmark_model_file == path:
            self._predictor, self._detector, self._dlib = (models_from._predictor, models_from._detector,
                                                           models_from._dlib)
            return
        if not path.is_file():
            raise LandmarkModelError(str(path), "68-point landmark model file not found")
        try:
            self._predictor = dlib.shape_predictor(str(path))
        except RuntimeError as e:
            raise LandmarkModelError(str(path), f"cannot load the landmark model ({e})") from None
        self._detector = dlib.get_frontal_face_detector()
        self._dlib = dlib

    # ------------------------------------------------------------------------------------ steps
    def detector_passes(self) -> tuple[int, ...]:
        """Upsampling of each detector pass, in order; a pass runs only when the previous ones found
        no face (the first of two passes counts boxes scoring >= ``detector_first_pass_min_score``).
        ``(0, detector_upsample)`` with ``detector_upsample_retry`` (the default), else
        ``(detector_upsample,)``."""
        up = int(self.cfg.detector_upsample)
        return (0, up) if getattr(self.cfg, "detector_upsample_retry", False) and up > 0 else (up,)

    def detect(self, rgb: np.ndarray, where: str = "<array>") -> tuple[list[tuple[int, int, int, int]], float]:
        """Face boxes (left, top, right, bottom) in the photo's coordinates, largest first, and the
        scale used for detection (see :meth:`detect_with_pass` for which pass found them)."""
        boxes, f, _ = self.detect_with_pass(rgb, where)
        return boxes, f

    def detect_with_pass(self, rgb: np.ndarray, where: str = "<array>"
                         ) -> tuple[list[tuple[int, int, int, int]], float, int]:
        """(boxes largest first, detection scale, upsampling of the pass that found them — the last
        pass tried when none did)."""
        h, w = rgb.shape[:2]
        if min(h, w) < self.cfg.min_image_side:
            raise NoFaceError(where, f"image is {w}x{h} pixels, too small to hold a detectable face "
                                     f"(shorter side < {self.cfg.min_image_side})")
        f = min(1.0, self.cfg.max_detect_side / max(h, w))
        small = rgb if f >= 1.0 else cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))),
                                                interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small)
        rects, up = [], 0
        passes = self.detector_passes()
        min_score = float(getattr(self.cfg, "detector_first_pass_min_score", 0.0))
        for k, up in enumerate(passes):
            try:
                rects, scores, _ = self._detector.run(small, up, 0.0)
            except RuntimeError as e:  # pragma: no cover - dlib rejects the array
                raise UnreadableImageError(where, f"face detector failed ({e})") from None
            if k < len(passes) - 1:  # a fast first pass: trust only confident boxes
                rects = [r for r, sc in zip(rects, scores) if sc >= min_score]
            if len(rects):
                break
        boxes = [(r.left() / f, r.top() / f, r.right() / f, r.bottom() / f) for r in rects]
        boxes = [(int(round(a)), int(round(b)), int(round(c)), int(round(d))) for a, b, c, d in boxes]
        boxes.sort(key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)  # stable: ties keep order
        return boxes, f, up

    def landmarks(self, rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """(68, 2) landmarks in the photo's coordinates."""
        rect = self._dlib.rectangle(*box)
        shape = self._predictor(np.ascontiguousarray(rgb), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def align(self, rgb: np.ndarray, landmarks: np.ndarray, where: str = "<array>"):
        """(aligned, mask, aligned landmarks, transform, outside fraction) from photo landmarks."""
        s = self.cfg.output_size
        left, right = eye_centres(landmarks)
        try:
            m = similarity_from_eyes(left, right, self.cfg)
        except ValueError as e:
            raise NoFaceError(where, f"landmarks are degenerate ({e})") from None
        aligned = warp_similarity(rgb, m, s, self.cfg.border_mode)
        pts = transform_points(m, landmarks)
        mask = hull_mask(pts, s)
        black = (mask == 1) & ~aligned.any(axis=-1)
        aligned[black] = 1
        return aligned, mask, pts.astype(np.float32), m, outside_fraction(m, rgb.shape[:2], s)

    # -------------------------------------------------------------------------------- one photo
    def process(self, image: ImageInput, name: str | None = None) -> Sample:
        """Photo (path, encoded bytes or RGB array) -> :class:`Sample`.

        Raises :class:`UnreadableImageError` (cannot decode), :class:`NoFaceError` (no face found,
        or the image is too small), both subclasses of :class:`PreprocessError`.
        """
        rgb, where = load_rgb(image, name)
        boxes, _, up = self.detect_with_pass(rgb, where)
        if not boxes:
            h, w = rgb.shape[:2]
            tried = " then ".join(str(u) for u in self.detector_passes())
            raise NoFaceError(where, f"no face found by the dlib frontal face detector in the {w}x{h} image "
                                     f"(upsample={tried})")
        box = boxes[0]
        pts = self.landmarks(rgb, box)
        aligned, mask, apts, m, outside = self.align(rgb, pts, where)
        masked = aligned * mask[..., None]
        return Sample(aligned=aligned, masked=masked, mask=mask, landmarks=apts, source=where,
                      face_box=box, n_faces=len(boxes), eye_centres=np.stack(eye_centres(pts)),
                      transform=m, outside_fraction=outside, detect_upsample=up)


def process_image(image: ImageInput, cfg: PreprocessConfig | None = None) -> Sample:
    """One-off convenience wrapper (loads the models every call; use :class:`FacePreprocessor` for many)."""
    return FacePreprocessor(cfg or PreprocessConfig()).process(image)


__all__ = ["FacePreprocessor", "Sample", "process_image", "default_landmark_model_path",
           "landmark_model_path", "PreprocessError"]
