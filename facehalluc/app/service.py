"""Moved to :mod:`facehalluc.apps.web.service`; kept so old imports and commands work (the old import path)."""
from ..apps.web import service as _m0
from ..apps.web.service import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.web.service"
__getattr__ = forward(__name__, _m0)
