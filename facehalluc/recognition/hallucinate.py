"""Moved to :mod:`facehalluc.apps.recognition.hallucinate`;
kept so old imports and commands work (the old import path)."""
from ..apps.recognition import hallucinate as _m0
from ..apps.recognition.hallucinate import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.recognition.hallucinate"
__getattr__ = forward(__name__, _m0)
