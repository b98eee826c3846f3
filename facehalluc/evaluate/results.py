"""Result files written by ``evaluate.py`` and read by ``python -m facehalluc.evaluate.table``.

A result file is JSON::

    {"format_version": 1, "name": "Ours (Cascaded)", "n_pairs": 1000, "real_dir": ..., "fake_dir": ...,
     "created": "...", "settings": {...},
     "metrics": {"match": {...}, "ssim": {...}, "fid": {...}, "pieapp": {...}},   # the paper's four
     "proxies": {"dlib_identity_cosine": {...}, ...}}                            # offline stand-ins

Each metric entry is a :class:`MetricResult`: ``status`` is ``"ok"`` (``value`` set), ``"unavailable"``
(the network's converted weights are absent; ``command`` says how to provide them) or ``"not_requested"``.
A metric is never computed with random weights.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
STATUSES = ("ok", "unavailable", "not_requested")


class ResultFileError(ValueError):
    """A result file is missing, unreadable or does not follow the schema."""


@dataclass
class MetricResult:
    """One metric's outcome for one method."""

    status: str
    value: float | None = None
    reason: str = ""
    command: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"metric status must be one of {STATUSES}, got {self.status!r}")
        if self.status == "ok" and (self.value is None or not math.isfinite(float(self.value))):
            raise ValueError(f"metric status 'ok' needs a finite value, got {self.value!r}")

    @classmethod
    def ok(cls, value: float, **details: Any) -> "MetricResult":
        return cls(status="ok", value=float(value), details=dict(details))

    @classmethod
    def unavailable(cls, reason: str, command: str = "") -> "MetricResult":
        return cls(status="unavailable", reason=reason, command=command)

    def display(self, fmt: str = "{:.3f}") -> str:
        """The value formatted, or the status word."""
        return fmt.format(self.value) if self.status == "ok" and self.value is not None else self.status


@dataclass
class EvaluationResult:
    """All metrics of one method (one ``evaluate.py`` run)."""

    name: str
    n_pairs: int
    metrics: dict[str, MetricResult]
    proxies: dict[str, MetricResult] = field(default_factory=dict)
    real_dir: str = ""
    fake_dir: str = ""
    created: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def save_result(result: EvaluationResult, path: str | Path) -> Path:
    """Write ``result`` as indented JSON (atomically: temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def _metric_from(obj: Any, where: str) -> MetricResult:
    if not isinstance(obj, dict) or "status" not in obj:
        raise ResultFileError(f"{where}: expected an object with a 'status' field, got {obj!r}")
    try:
        return MetricResult(status=obj["status"], value=obj.get("value"), reason=obj.get("reason", ""),
                            command=obj.get("command", ""), details=obj.get("details", {}))
    except ValueError as e:
        raise ResultFileError(f"{where}: {e}") from e


def load_result(path: str | Path) -> EvaluationResult:
    """Read and validate a result file; raises :class:`ResultFileError` naming the file and the problem."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ResultFileError(f"{path}: no such result file") from e
    except json.JSONDecodeError as e:
        raise ResultFileError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(obj, dict):
        raise ResultFileError(f"{path}: top level must be a JSON object")
    if obj.get("format_version") != FORMAT_VERSION:
        raise ResultFileError(f"{path}: format_version {obj.get('format_version')!r}, expected {FORMAT_VERSION}")
    for key in ("name", "n_pairs", "metrics"):
        if key not in obj:
            raise ResultFileError(f"{path}: missing field {key!r}")
    if not isinstance(obj["metrics"], dict):
        raise ResultFileError(f"{path}: 'metrics' must be an object")
    return EvaluationResult(
        name=str(obj["name"]), n_pairs=int(obj["n_pairs"]),
        metrics={k: _metric_from(v, f"{path}: metrics.{k}") for k, v in obj["metrics"].items()},
        proxies={k: _metric_from(v, f"{path}: proxies.{k}") for k, v in obj.get("proxies", {}).items()},
        real_dir=str(obj.get("real_dir", "")), fake_dir=str(obj.get("fake_dir", "")),
        created=str(obj.get("created", "")), settings=dict(obj.get("settings", {})))
