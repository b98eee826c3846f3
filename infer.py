#!/usr/bin/env python
"""Hallucinate context and background for face photos (see ``python infer.py --help``)."""
import sys

from facehalluc.infer.cli import main

if __name__ == "__main__":
    sys.exit(main())
