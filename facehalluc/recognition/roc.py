"""Moved to :mod:`facehalluc.apps.recognition.roc`; kept so old imports and commands work (the old import path)."""
from ..apps.recognition import roc as _m0
from ..apps.recognition.roc import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.recognition.roc"
__getattr__ = forward(__name__, _m0)
