"""Moved to :mod:`facehalluc.apps.demo.cli`; kept so ``python -m facehalluc.demo`` works."""
import sys

from ..apps.demo.cli import main

__moved_to__ = "facehalluc.apps.demo.cli"

sys.exit(main())
