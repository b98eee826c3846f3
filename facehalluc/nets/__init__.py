"""Frozen feature networks used by the losses, ported to backend-agnostic Keras 3.

* :mod:`.lpips` — LPIPS with the AlexNet backbone, versions 0.0 and 0.1 (L_pc, Eq. 2).
* :mod:`.vggface` — VGG-Face (VGG-16) to fc7 (L_id, Eq. 4).
* :mod:`.dlib_resnet` — dlib's face-recognition ResNet, 128-D embedding (``loss.id_net=dlib_resnet``, the
  ``dlib_identity`` proxy); its ``.dat`` reader is :mod:`.dlib_format`.  Not imported here (import it directly).
"""
from . import weight_specs  # noqa: F401 - registers every frozen net's weight spec with facehalluc.weights
from .lpips import build_lpips, convert_lpips, lpips_from_config, lpips_weight_arrays
from .vggface import (VGGFACE_FC7_PARAMS, VGGFACE_FULL_PARAMS, VGGFACE_LAYERS, VGGFACE_MEAN_BGR,
                      build_vggface, convert_vggface, vggface_arrays_from_keras_h5,
                      vggface_arrays_from_matconvnet, vggface_from_config)

__all__ = [
    "build_lpips", "convert_lpips", "lpips_from_config", "lpips_weight_arrays", "build_vggface",
    "convert_vggface", "vggface_arrays_from_keras_h5", "vggface_arrays_from_matconvnet",
    "vggface_from_config", "VGGFACE_FC7_PARAMS", "VGGFACE_FULL_PARAMS", "VGGFACE_LAYERS",
    "VGGFACE_MEAN_BGR",
]
