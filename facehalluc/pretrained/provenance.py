"""The provenance a packed model's manifest carries: what it would take to make the same model again.

:func:`collect` gathers, from the training run directory and its dataset file:

* ``code``: the git commit of the packing tree (packing from a tree with uncommitted changes is refused unless
  forced, and then recorded as ``dirty``) and the commits every training command ran at (``commands.jsonl``);
* ``libraries``: Python, TensorFlow, Keras, numpy, dlib, h5py, OpenCV and scikit-image versions;
* ``data``: the dataset file's sha256, size, face counts and its preprocessing settings (the YAML the
  file was written with) plus the split settings;
* ``splits``: for train, val and test, the number of identities and the sha256 of their sorted list
  (one name per line, UTF-8, no trailing newline);
* ``commands``: every command that made the run, resumes included (``RUN_DIR/commands.jsonl``), and the
  warm start it began from (``RUN_DIR/init_from.json``, which holds the source model's own provenance);
* ``machine`` and ``wall_seconds``: the CPU / ISA of the packing machine and, per training command, the time
  from its start to its last epoch record.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..utils.provenance import git_state, library_versions, machine

#: keys :func:`collect` always writes (the shipped-manifest test checks them)
REQUIRED = ("code", "libraries", "data", "splits", "commands", "machine", "wall_seconds")


class DirtyTreeError(RuntimeError):
    """Packing from a git tree with uncommitted changes (pass force=True / --force to record it anyway)."""


def list_sha256(names: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(names)).encode("utf-8")).hexdigest()


def data_record(h5: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data, splits) records of a prepared dataset file."""
    import h5py
    import yaml

    from ..data import identity_lists
    from ..weights import sha256_file

    h5 = Path(h5)
    with h5py.File(h5, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        n = int(f["split"].shape[0])
    pre = attrs.get("preprocess_config")
    data = {"file": h5.name, "sha256": sha256_file(h5), "bytes": h5.stat().st_size, "faces": n,
            "preprocess": yaml.safe_load(pre) if isinstance(pre, str) else None,
            "val_fraction": float(attrs["val_fraction"]) if "val_fraction" in attrs else None,
            "test_fraction": float(attrs["test_fraction"]) if "test_fraction" in attrs else None,
            "split_by": attrs.get("split_by"), "source_dir": attrs.get("source_dir")}
    splits = {k: {"identities": len(v), "sha256": list_sha256(v)} for k, v in identity_lists(h5).items()}
    return data, splits


def read_commands(run_dir: str | Path) -> list[dict[str, Any]]:
    """The lines of ``RUN_DIR/commands.jsonl`` (one per ``train.py`` invocation)."""
    p = Path(run_dir) / "commands.jsonl"
    if not p.is_file():
        return []
    return [json.loads(ln) for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]


def training_wall_seconds(run_dir: str | Path, commands: list[dict[str, Any]]) -> float | None:
    """Sum over training commands of (its last epoch record before the next command) - its start, seconds;
    an epoch record's time is its ``time_utc``, or ``history.jsonl``'s modification time for older runs."""
    import calendar
    import time

    hist = Path(run_dir) / "history.jsonl"
    if not commands or not hist.is_file():
        return None
    starts = [calendar.timegm(time.strptime(c["utc"], "%Y-%m-%dT%H:%M:%SZ")) for c in commands]
    records = [json.loads(ln) for ln in hist.read_text(encoding="utf-8").splitlines() if ln.strip()]
    ends = [r["time_utc"] for r in records if "time_utc" in r] or [hist.stat().st_mtime]
    total = 0.0
    for i, s in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else float("inf")
        mine = [e for e in ends if s <= e < nxt]
        if mine:
            total += max(mine) - s
    return round(total, 1)


def collect(run_dir: str | Path, data: str | Path, *, force: bool = False) -> dict[str, Any]:
    """The provenance record of a packed model (see the module doc); :class:`DirtyTreeError` when the
    packing tree has uncommitted changes and ``force`` is False."""
    run_dir = Path(run_dir)
    code = git_state()
    if code["dirty"] and not force:
        raise DirtyTreeError(f"the source tree at {code['commit']} has uncommitted changes: commit them first, "
                             f"or pass --force to pack anyway (recorded as dirty)")
    commands = read_commands(run_dir)
    init = run_dir / "init_from.json"
    data_rec, splits = data_record(data)
    return {
        "code": {**code, "training_commits": sorted({(c.get("git") or {}).get("commit") or "unknown"
                                                      for c in commands})},
        "libraries": library_versions(),
        "data": data_rec,
        "splits": splits,
        "commands": commands,
        "init_from": json.loads(init.read_text(encoding="utf-8")) if init.is_file() else None,
        "machine": machine(),
        "wall_seconds": training_wall_seconds(run_dir, commands),
    }
