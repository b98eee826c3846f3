"""Moved to :mod:`facehalluc.apps.web`; kept so old imports and commands work (the old import path)."""
from ..apps import web as _m0
from ..apps.web import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.web"
__getattr__ = forward(__name__, _m0)
