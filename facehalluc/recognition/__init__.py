"""Moved to :mod:`facehalluc.apps.recognition`; kept so old imports and commands work (the old import path)."""
from ..apps import recognition as _m0
from ..apps.recognition import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.recognition"
__getattr__ = forward(__name__, _m0)
