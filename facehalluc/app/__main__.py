"""Moved to :mod:`facehalluc.apps.web.cli`; kept so ``python -m facehalluc.app`` works."""
import sys

from ..apps.web.cli import main

__moved_to__ = "facehalluc.apps.web.cli"

sys.exit(main())
