#!/usr/bin/env python
"""Prepare a folder of face photos into an HDF5 training dataset (paper §4 "Training Data").

    python data/prepare.py --src ../shared/data/lfw --out work_data/lfw.h5 --workers 2

See docs/preprocessing.md; all logic lives in facehalluc.data.prepare (its
command line in facehalluc.data.cli.prepare).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from facehalluc.utils.quiet import quiet_tensorflow  # noqa: E402

if __name__ == "__main__":
    quiet_tensorflow()
    from facehalluc.data.cli.prepare import main

    sys.exit(main())
