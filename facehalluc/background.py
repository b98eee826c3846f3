"""Moved to :mod:`facehalluc.apps.background`;
kept so old imports and commands work (``python -m facehalluc.background``)."""
import sys

from .apps import background as _m0
from .apps.background import cli as _m1
from .apps.background import batch as _m2
from .apps.background import replace as _m3
from .apps.background import blend as _m4
from .apps.background import *  # noqa: F401,F403
from .utils.moved import forward

__moved_to__ = "facehalluc.apps.background"
__getattr__ = forward(__name__, _m0, _m1, _m2, _m3, _m4)

if __name__ == "__main__":
    sys.exit(_m1.main())
