"""facehalluc: hallucinating context and background pixels from a face mask with multi-scale GANs.

Reproduction of Banerjee, Scheirer, Bowyer, Flynn, "On Hallucinating Context and Background Pixels
from a Face Mask using Multi-scale GANs" (WACV 2020).  Images are float32 NHWC RGB in [0, 1].
"""
__version__ = "0.1.0"

from .config import PRESETS, Config, load_config  # noqa: E402

__all__ = ["Config", "PRESETS", "load_config", "__version__"]
