"""Moved to :mod:`facehalluc.apps.web.server`; kept so old imports and commands work (the old import path)."""
from ..apps.web import server as _m0
from ..apps.web.server import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.web.server"
__getattr__ = forward(__name__, _m0)
