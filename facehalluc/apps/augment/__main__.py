"""``python -m facehalluc.apps.augment`` (:mod:`.cli`)."""
import sys

from .cli import main

sys.exit(main())
