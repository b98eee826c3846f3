"""Face preprocessing (paper §4 "Training Data"): detection, 68 landmarks, eye alignment, hull mask.

    from facehalluc.config import load_config
    from facehalluc.preprocess import FacePreprocessor
    sample = FacePreprocessor(load_config("paper").preprocess).process("photo.jpg")
    sample.aligned, sample.masked, sample.mask, sample.landmarks   # uint8 / float32 arrays

See docs/preprocessing.md.
"""
from .errors import (ImageTooLargeError, LandmarkModelError, NoFaceError, PreprocessError,
                     UnreadableImageError)
from .face import FacePreprocessor, Sample, default_landmark_model_path, landmark_model_path, process_image
from .geometry import (BORDER_MODES, MIRROR_68, eye_centres, eye_targets, hull_mask, mirror_landmarks,
                       similarity_from_eyes, transform_points, warp_similarity)
from .io import load_rgb

__all__ = [
    "FacePreprocessor", "Sample", "process_image", "load_rgb", "PreprocessError", "NoFaceError",
    "UnreadableImageError", "ImageTooLargeError", "LandmarkModelError", "default_landmark_model_path",
    "landmark_model_path", "eye_centres", "eye_targets", "similarity_from_eyes", "transform_points",
    "warp_similarity", "hull_mask", "mirror_landmarks", "MIRROR_68", "BORDER_MODES",
]
