#!/usr/bin/env python
"""Score hallucinated faces with the paper's metrics (see ``python evaluate.py --help``, docs/evaluation.md)."""
from facehalluc.evaluate.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
