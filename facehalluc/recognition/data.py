"""Moved to :mod:`facehalluc.apps.recognition.data`; kept so old imports and commands work (the old import path)."""
from ..apps.recognition import data as _m0
from ..apps.recognition.data import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.recognition.data"
__getattr__ = forward(__name__, _m0)
