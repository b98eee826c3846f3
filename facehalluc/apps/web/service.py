"""The web page's work, without HTTP: uploaded photo bytes -> masked face, block outputs, paste-back.

This is ``infer.py --paste-back --save-stages`` for one photo held in memory.  It reuses the
inference modules: :func:`facehalluc.infer.preprocessing.align_photo` (read, detect, align,
landmark-hull mask), :meth:`facehalluc.infer.Hallucinator.run` (the generator, with the
preprocessor's mask) and :func:`facehalluc.infer.paste_back`.  Errors come back as
:class:`AppError` carrying an HTTP status, a short stable code and a message for the page.
"""
from __future__ import annotations

import base64
import logging
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...infer.engine import Hallucinator
from ...infer.paste import DEFAULT_FEATHER, paste_back
from ...infer.preprocessing import AlignedFace, make_preprocessor
from ...utils.image import encode_image, nearest_resize, to_uint8

log = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # 20 MiB
MAX_SAMPLES = 8  # samples per upload (a style-noise generator)

# one-line advice appended to the preprocessor's message, by PreprocessError.code
_HINTS = {
    "no_face": "Use a photo with one clearly visible, roughly frontal face.",
    "unreadable": "Upload a JPEG, PNG, WebP, BMP, TIFF or GIF image.",
    "too_large": "Upload a smaller image.",
}


class AppError(Exception):
    """A request that cannot be served: ``status`` (HTTP), ``code`` (stable, for scripts), ``message``
    (one line for the page)."""

    def __init__(self, status: int, code: str, message: str):
        self.status = int(status)
        self.code = code
        self.message = message
        super().__init__(message)

    def to_json(self) -> dict[str, Any]:
        return {"ok": False, "error": self.code, "message": self.message}


def format_bytes(n: int) -> str:
    """``20971520`` -> ``"20 MB"`` (binary megabytes, as file pickers show them)."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} kB"
    return f"{n} bytes"


def safe_stem(filename: str | None) -> str:
    """A file name's stem restricted to ``[A-Za-z0-9._-]`` (at most 64 characters), for download names;
    ``"photo"`` when nothing is left."""
    stem = Path(str(filename or "").replace("\\", "/")).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:64]
    return stem or "photo"


def png_bytes(img: np.ndarray) -> bytes:
    """An RGB image (uint8, or float in [0, 1]) encoded as PNG (fast compression for large photos)."""
    arr = to_uint8(img)
    return encode_image(arr, "PNG", compress_level=1 if arr.shape[0] * arr.shape[1] > 10**6 else 6)


def png_data_url(img: np.ndarray) -> str:
    """``data:image/png;base64,...`` for an RGB image."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode("ascii")


def model_label(model: Hallucinator) -> str:
    """How the page names the model: ``default (...)`` for the shipped generator, else its path."""
    from ...store.spec import shipped_dir

    if model.path is not None and Path(model.path).resolve() == shipped_dir():
        return "default (the generator shipped with facehalluc)"
    return str(model.path)


def _resolution(key: str) -> int:
    """``"out_64"`` -> 64."""
    return int(key.rsplit("_", 1)[-1])


@dataclass(frozen=True)
class Picture:
    """One picture of the result: ``pixels`` is what the page shows (blocks below 128x128 are
    upscaled with nearest neighbour), ``native`` the side length the model produced it at."""

    key: str
    label: str
    pixels: np.ndarray
    native: int | None = None
    filename: str | None = None  # download name, for the images the page offers as files

    def to_json(self) -> dict[str, Any]:
        h, w = self.pixels.shape[:2]
        return {"key": self.key, "label": self.label, "width": w, "height": h, "native_size": self.native,
                "filename": self.filename, "src": png_data_url(self.pixels)}


@dataclass
class Hallucination:
    """The result for one photo, in display order: ``stages`` = masked input, block outputs
    (``out_8`` ... ``out_64``), ``out_128``; ``extras`` = aligned crop and paste-back."""

    filename: str
    photo_size: tuple[int, int]  # (width, height)
    stages: list[Picture]
    extras: list[Picture]
    seconds: dict[str, float] = field(default_factory=dict)
    samples: list[Picture] = field(default_factory=list)  # K > 1 samples of a style-noise generator

    def image(self, key: str) -> Picture:
        for im in self.stages + self.extras:
            if im.key == key:
                return im
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        """The API's response body: every image as a base64 PNG data URL."""
        return {"ok": True, "filename": self.filename, "photo_size": list(self.photo_size),
                "stages": [im.to_json() for im in self.stages],
                "extras": {im.key: im.to_json() for im in self.extras},
                "samples": [im.to_json() for im in self.samples],
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


class HallucinationService:
    """Holds one loaded generator and face preprocessor and serves :meth:`hallucinate` to any number of
    threads: the preprocessor (dlib) and the generator each run under their own lock, so calls are
    serialised while PNG encoding and network I/O overlap."""

    def __init__(self, model: Hallucinator, preprocessor=None, *, feather: float = DEFAULT_FEATHER,
                 max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, model_name: str | None = None,
                 warmup: bool = True):
        self.model = model
        self.preprocessor = preprocessor if preprocessor is not None else make_preprocessor(model.cfg)
        self.feather = float(feather)
        self.max_upload_bytes = int(max_upload_bytes)
        self.model_name = model_name or model_label(model)
        self._model_lock = threading.Lock()
        self._prep_lock = threading.Lock()
        if warmup:  # trace the generator now so that the first upload is not slow
            top = model.resolution
            self._run_model(np.zeros((top, top, 3), np.float32), np.ones((top, top), np.float32))

    def describe(self) -> dict[str, Any]:
        """What ``GET /api/info`` returns."""
        return {"model": self.model_name, "model_source": self.model.source,
                "resolutions": list(self.model.cfg.model.resolutions), "outputs": list(self.model.outputs),
                "max_upload_bytes": self.max_upload_bytes, "feather": self.feather,
                "stochastic": self.model.stochastic, "max_samples": MAX_SAMPLES}

    def check_size(self, n_bytes: int) -> None:
        """Raises :class:`AppError` (413) for an upload over the limit, (400) for an empty one."""
        if n_bytes > self.max_upload_bytes:
            raise AppError(413, "too_large_upload", f"The upload is {format_bytes(n_bytes)}; the limit is "
                           f"{format_bytes(self.max_upload_bytes)}. Upload a smaller photo.")
        if n_bytes <= 0:
            raise AppError(400, "empty_upload", "The upload is empty: choose an image file.")

    def _run_model(self, masked: np.ndarray, mask: np.ndarray, samples: int = 1,
                   seed: int = 0) -> list[dict[str, np.ndarray]]:
        with self._model_lock:
            outs = self.model.sample(masked[None], mask[None], samples, seed, keys=[0])
        return [{k: v[0] for k, v in o.items()} for o in outs]

    def _align(self, data: bytes, filename: str) -> AlignedFace:
        from ...infer.preprocessing import align_photo
        from ...preprocess import LandmarkModelError, PreprocessError

        # align_photo reads a path: hand it the upload through a private temporary file
        with tempfile.TemporaryDirectory(prefix="facehalluc_app_") as tmp:
            path = Path(tmp) / "upload"
            path.write_bytes(data)
            try:
                with self._prep_lock:
                    return align_photo(self.preprocessor, path)
            except LandmarkModelError:
                raise  # a set-up problem, not the photo's: reported as a server error
            except PreprocessError as e:
                hint = _HINTS.get(e.code, "")
                raise AppError(422, e.code, f"{filename}: {e.reason}" + (f". {hint}" if hint else "")) from None

    def hallucinate(self, data: bytes, filename: str | None = None, samples: int = 1,
                    seed: int = 0) -> Hallucination:
        """Photo file bytes -> :class:`Hallucination`.  Raises :class:`AppError` for an empty or
        oversized upload (400 / 413), an unreadable image or a photo without a face (422), a bad ``samples``
        (400).  ``samples`` > 1 with a style-noise generator: that many results (the infer.py seed rule with
        the upload as face key 0), the first one shown as the stages and pasted back."""
        name = Path(str(filename or "upload").replace("\\", "/")).name or "upload"
        if not 1 <= int(samples) <= MAX_SAMPLES:
            raise AppError(400, "bad_samples", f"samples must be between 1 and {MAX_SAMPLES}, got {samples}")
        samples = int(samples) if self.model.stochastic else 1
        self.check_size(len(data))
        t0 = time.perf_counter()
        face = self._align(data, name)
        t1 = time.perf_counter()
        drawn = self._run_model(face.masked, face.mask, samples, seed)
        outs = drawn[0]
        t2 = time.perf_counter()
        top = self.model.resolution
        result = outs[f"out_{top}"]
        pasted = paste_back(face.photo, result, face.matrix, self.feather, mask=face.mask)
        stem = safe_stem(name)
        stages = [Picture("masked", f"masked input: {top}×{top}", face.masked, top)]
        for key in sorted(outs, key=_resolution):
            r = _resolution(key)
            if r == top:
                continue
            stages.append(Picture(key, f"block_{r}: {r}×{r}, shown ×{top // r}", nearest_resize(outs[key], top), r))
        stages.append(Picture(f"out_{top}", f"block_{top}: the result, {top}×{top}", result, top, f"{stem}.png"))
        h, w = face.photo.shape[:2]
        extras = [Picture("aligned", f"aligned crop, {top}×{top}", face.aligned, top),
                  Picture("pasted", f"paste-back into the photo ({w}×{h})", pasted, None, f"{stem}_pasted.png")]
        picked = [Picture(f"sample_{j}", f"sample {j} (seed {seed})", o[f"out_{top}"], top, f"{stem}_sample{j}.png")
                  for j, o in enumerate(drawn)] if len(drawn) > 1 else []
        t3 = time.perf_counter()
        log.info("%s: %dx%d photo, align %.2f s, generator %.2f s", name, w, h, t1 - t0, t2 - t1)
        return Hallucination(name, (w, h), stages, extras,
                             {"align": t1 - t0, "generator": t2 - t1, "paste_back": t3 - t2, "total": t3 - t0},
                             picked)
