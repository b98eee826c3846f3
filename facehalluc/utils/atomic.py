"""Atomic file writes: write to a temporary name in the same folder, fsync, then ``os.replace``.

A process killed at any moment leaves either the previous file or the complete new one, never a
torn file.  The temporary name keeps the final name as its suffix (Keras insists that weight files
end in ``.weights.h5``).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_path(final: Path) -> Path:
    return final.with_name(f".tmp-{os.getpid()}-{final.name}")


@contextmanager
def atomic_path(path: str | Path, fsync: bool = True) -> Iterator[Path]:
    """``with atomic_path(p) as tmp: write(tmp)`` — ``p`` appears complete or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | Path, text: str, fsync: bool = True) -> Path:
    """Writes ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path

