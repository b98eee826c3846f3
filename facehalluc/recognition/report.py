"""Moved to :mod:`facehalluc.apps.recognition.report`; kept so old imports and commands work (the old import path)."""
from ..apps.recognition import report as _m0
from ..apps.recognition.report import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.recognition.report"
__getattr__ = forward(__name__, _m0)
