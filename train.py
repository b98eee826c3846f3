#!/usr/bin/env python
"""Train the face-hallucination GAN.  See ``train.py --help`` and docs/training.md."""
import sys

from facehalluc.utils.quiet import quiet_tensorflow

quiet_tensorflow()  # before facehalluc.train starts TensorFlow: its chatter off, oneDNN on (fastpath.prefer_onednn)

from facehalluc.train.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
