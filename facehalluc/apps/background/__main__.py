"""``python -m facehalluc.apps.background`` (:mod:`.cli`)."""
import sys

from .cli import main

sys.exit(main())
