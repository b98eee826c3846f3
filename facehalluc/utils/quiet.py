"""Silence TensorFlow's start-up chatter (CUDA probing on CPU machines) for command-line tools."""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover
        pass


def run_quietly(main: Callable[[], int]) -> None:
    """A ``python -m`` entry point: TensorFlow's start-up chatter off, then ``main()``; exits with its status."""
    quiet_tensorflow()
    sys.exit(main())
