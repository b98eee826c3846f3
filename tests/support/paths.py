"""Where things are: the checkout, the tests folder, and the optional ``../shared`` folder (LFW, real LPIPS weights)."""
from __future__ import annotations

import os
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
SHARED = Path(os.environ.get("FACEHALLUC_SHARED", REPO.parent / "shared"))
LFW = SHARED / "data" / "lfw"
LPIPS_DIR = SHARED / "weights" / "lpips"


def skip_reason(path: Path) -> str:
    return (f"{path} is absent: this test needs the shared data folder beside the checkout "
            f"(set FACEHALLUC_SHARED to point elsewhere)")
