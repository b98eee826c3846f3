"""Moved to :mod:`facehalluc.apps.demo`; kept so old imports and commands work (the old import path)."""
from ..apps import demo as _m0
from ..apps.demo import data as _m1
from ..apps.demo import training as _m2
from ..apps.demo import model_demo as _m3
from ..apps.demo import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.demo"
__getattr__ = forward(__name__, _m0, _m1, _m2, _m3)
