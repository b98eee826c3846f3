"""Moved to :mod:`facehalluc.apps.recognition.experiment`;
kept so old imports and commands work (``python -m facehalluc.recognition.experiment``)."""
import sys

from ..apps.recognition import experiment as _m0
from ..apps.recognition import cli as _m1
from ..apps.recognition.experiment import *  # noqa: F401,F403
from ..utils.moved import forward

__moved_to__ = "facehalluc.apps.recognition.experiment"
__getattr__ = forward(__name__, _m0, _m1)

if __name__ == "__main__":
    _m1.run_command()
