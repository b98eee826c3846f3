"""Moved to :mod:`facehalluc.apps.recognition.train`; kept so old imports and commands work (the old import path)."""
from ..apps.recognition import train as _m0
from ..apps.recognition.train import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.recognition.train"
__getattr__ = forward(__name__, _m0)
