"""Moved to :mod:`facehalluc.apps.augment`;
kept so old imports and commands work (``python -m facehalluc.augment``)."""
import sys

from .apps import augment as _m0
from .apps.augment import cli as _m1
from .apps.augment import batch as _m2
from .apps.augment import jobs as _m3
from .apps.augment import *  # noqa: F401,F403
from .utils.moved import forward

__moved_to__ = "facehalluc.apps.augment"
__getattr__ = forward(__name__, _m0, _m1, _m2, _m3)

if __name__ == "__main__":
    sys.exit(_m1.main())
