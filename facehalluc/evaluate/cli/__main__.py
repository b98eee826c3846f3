"""``python -m facehalluc.evaluate.cli`` = ``python evaluate.py`` (:mod:`facehalluc.evaluate.cli`)."""
from facehalluc.evaluate.cli import main

raise SystemExit(main())
