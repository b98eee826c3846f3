"""``python -m facehalluc.demo`` (:mod:`facehalluc.demo.cli`)."""
import sys

from .cli import main

sys.exit(main())
