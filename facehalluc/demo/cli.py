"""Moved to :mod:`facehalluc.apps.demo.cli`; kept so old imports and commands work (``python -m facehalluc.demo``)."""
import sys

from ..apps.demo import cli as _m0
from ..apps.demo.cli import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.demo.cli"
__getattr__ = forward(__name__, _m0)

if __name__ == "__main__":
    sys.exit(_m0.main())
