"""Start-up of the command-line tools: TensorFlow's chatter (CUDA probing on CPU machines) off, oneDNN on."""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable


def quiet_tensorflow() -> None:
    """Before TensorFlow is imported by a command-line tool: its chatter off, and its oneDNN kernels on for every x86
    CPU kind (``fastpath.prefer_onednn``; TensorFlow alone turns them on only where the CPU has VNNI/BF16/AMX)."""
    from .fastpath import prefer_onednn

    prefer_onednn()
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
