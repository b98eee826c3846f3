"""Typed preprocessing errors.  Each message reads ``<file>: <one-line reason>``."""
from __future__ import annotations

from ..utils.image import ImageError


class PreprocessError(Exception):
    """Base class: a photo that cannot be turned into an aligned face sample.

    ``source`` names the input (file name, ``<bytes>`` or ``<array>``), ``reason`` is one line, and
    ``code`` is a short stable identifier used in skip reports (``FILE.skipped.csv``).
    """

    code = "preprocess_error"

    def __init__(self, source: str, reason: str):
        self.source = str(source)
        self.reason = " ".join(str(reason).split())  # one line
        Exception.__init__(self, f"{self.source}: {self.reason}")


class UnreadableImageError(PreprocessError, ImageError):
    """The file is empty, truncated, not an image, or in a pixel format that cannot be converted.  Also the
    package's one image error (:class:`facehalluc.utils.image.ImageError`, a ``ValueError``): ``path`` is
    ``source``."""

    code = "unreadable"

    def __init__(self, source: str, reason: str):
        super().__init__(source, reason)
        self.path = self.source


class ImageTooLargeError(UnreadableImageError):
    """More pixels than Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``)."""

    code = "too_large"


class NoFaceError(PreprocessError):
    """The detector found no face (this includes images too small to hold one)."""

    code = "no_face"


class LandmarkModelError(PreprocessError):
    """The 68-point landmark model file is missing or cannot be loaded (a set-up problem, not a
    problem of one photo: batch preparation stops on it instead of skipping the file)."""

    code = "landmark_model"
