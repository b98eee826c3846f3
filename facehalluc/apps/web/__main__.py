"""``python -m facehalluc.apps.web`` (:mod:`.cli`; the documented command is ``python -m facehalluc.app``)."""
import sys

from .cli import main

sys.exit(main())
