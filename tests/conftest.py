"""Shared test fixtures.  ``../shared`` (LFW, real LPIPS weights) is optional: tests that need it skip."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from support.paths import LFW, LPIPS_DIR, REPO, SHARED  # noqa: E402,F401  (SHARED: re-exported)
from support.paths import skip_reason as _skip_reason  # noqa: E402

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
