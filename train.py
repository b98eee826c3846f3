#!/usr/bin/env python
"""Train the face-hallucination GAN.  See ``train.py --help`` and docs/training.md."""
import sys

from facehalluc.train.cli import main

if __name__ == "__main__":
    sys.exit(main())
