"""Inference on real photos and masked faces, paste-back, contact sheets (see ``docs/inference.md``).

* :func:`load_hallucinator` — a run directory or an exported SavedModel -> :class:`Hallucinator`;
* :func:`run_inference` — files in, ``<stem>.png`` / stages / paste-back / contact sheet / report out;
* :func:`paste_back` — warp a 128x128 output into the original photo with the alignment's inverse.
"""
from .engine import Hallucinator, ModelPathError, from_keras, from_savedmodel, load_hallucinator
from .images import list_inputs, read_masked_face
from .paste import feather_alpha, invert_affine, paste_back, seam_ratio
from .pipeline import InferenceOptions, InferenceReport, run_inference

__all__ = [
    "Hallucinator", "ModelPathError", "from_keras", "from_savedmodel", "load_hallucinator",
    "list_inputs", "read_masked_face",
    "feather_alpha", "invert_affine", "paste_back", "seam_ratio",
    "InferenceOptions", "InferenceReport", "run_inference",
]
