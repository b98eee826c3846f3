"""Moved to :mod:`facehalluc.apps.recognition.model`; kept so old imports and commands work (the old import path)."""
from ..apps.recognition import model as _m0
from ..apps.recognition.model import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.recognition.model"
__getattr__ = forward(__name__, _m0)
