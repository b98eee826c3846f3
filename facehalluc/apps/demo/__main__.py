"""``python -m facehalluc.apps.demo`` (:mod:`.cli`; the documented command is ``python -m facehalluc.demo``)."""
import sys

from .cli import main

sys.exit(main())
