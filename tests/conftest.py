"""Shared test fixtures.  ``../shared`` (LFW, real LPIPS weights) is optional: tests that need it skip."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FACEHALLUC_SHARED", REPO.parent / "shared"))
LFW = SHARED / "data" / "lfw"
LPIPS_DIR = SHARED / "weights" / "lpips"


def _skip_reason(path: Path) -> str:
    return (f"{path} is absent: this test needs the shared data folder beside the checkout "
            f"(set FACEHALLUC_SHARED to point elsewhere)")


requires_lfw = pytest.mark.skipif(not LFW.is_dir(), reason=_skip_reason(LFW))
requires_lpips_weights = pytest.mark.skipif(not LPIPS_DIR.is_dir(), reason=_skip_reason(LPIPS_DIR))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    if not LFW.is_dir():
        pytest.skip(_skip_reason(LFW))
    return LFW


@pytest.fixture(scope="session")
def lpips_dir() -> Path:
    if not LPIPS_DIR.is_dir():
        pytest.skip(_skip_reason(LPIPS_DIR))
    return LPIPS_DIR


@pytest.fixture()
def tiny_config():
    from facehalluc.config import load_config

    return load_config("tiny")
