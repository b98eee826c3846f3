"""Typed preprocessing errors.  Each message reads ``<file>: <one-line reason>``."""
from __future__ import annotations


class PreprocessError(Exception):
    """Base class: a photo that cannot be turned into an aligned face sample.

    ``source`` names the input (file name, ``<bytes>`` or ``<array>``), ``reason`` is one line, and
    ``code`` is a short stable identifier used in skip reports (``FILE.skipped.csv``).
    """

    code = "preprocess_error"

    def __init__(self, source: str, reason: str):
        self.source = str(source)
        self.reason = " ".join(str(reason).split())  # one line
        super().__init__(f"{self.source}: {self.reason}")


class UnreadableImageError(PreprocessError):
    """The file is empty, truncated, not an image, or in a pixel format that cannot be converted."""

    code = "unreadable"


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
