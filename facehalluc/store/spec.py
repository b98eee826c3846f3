"""What a ``--model`` value names, resolved in one place: :func:`resolve_model`.

A trained generator reaches the package in one of three on-disk forms (all opened by
:func:`facehalluc.store.open_model`):

* a **run directory** written by training: ``config.yaml`` + ``generator.weights.h5``
  (:mod:`facehalluc.store.run_dir`);
* a **packed folder** (``manifest.json`` with :data:`FORMAT`, float16 ``generator.fp16.npz``): the
  generator shipped in the package (``--model default``, ``facehalluc/store/shipped/``) or one written by
  :func:`facehalluc.store.packed.pack` (:mod:`facehalluc.store.packed`);
* a **SavedModel** written by :func:`facehalluc.store.export.export_savedmodel` (``saved_model.pb``).
"""
from __future__ import annotations

import json
from pathlib import Path

DEFAULT_NAME = "default"
MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "generator.fp16.npz"
CONFIG_NAME = "config.yaml"
GENERATOR_NAME = "generator.weights.h5"
MEDIAN_NAME = "train_median.png"
FORMAT = "facehalluc-generator-fp16-npz/1"


class ShippedModelError(RuntimeError):
    """The shipped model is missing, corrupt (sha256 mismatch) or does not fit its config."""


class RunDirError(RuntimeError):
    """A run directory that cannot be read (missing config or weights, wrong architecture)."""


class ModelPathError(ValueError):
    """``--model`` is neither a training run directory, a packed folder nor a SavedModel directory."""


def shipped_dir() -> Path:
    """The folder of the shipped model inside the installed package (it may be absent in a source tree
    that was checked out before the weights were added)."""
    return Path(__file__).resolve().parent / "shipped"


def is_packed_dir(path: str | Path) -> bool:
    """True for a folder written by :func:`facehalluc.store.packed.pack` (manifest with :data:`FORMAT`)."""
    m = Path(path) / MANIFEST_NAME
    if not m.is_file():
        return False
    try:
        return json.loads(m.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def is_savedmodel_dir(path: str | Path) -> bool:
    return (Path(path) / "saved_model.pb").is_file()


def resolve_model(spec: str | Path | None) -> Path:
    """``--model`` value -> a path: ``None`` or ``"default"`` -> the shipped model's folder (checked to
    exist); anything else -> ``Path(spec)`` unchanged (a folder called ``default`` in the working
    directory is reached as ``./default``).

    This is the only function of the package that interprets a ``--model`` value; every CLI, the library
    loaders (:func:`facehalluc.store.open_model`, :func:`facehalluc.store.load_generator`) and the
    applications call it.
    """
    if spec is None or (isinstance(spec, str) and spec == DEFAULT_NAME):
        d = shipped_dir()
        if not is_packed_dir(d):
            raise ShippedModelError(
                f"--model default: the shipped generator is missing from this installation ({d} has no "
                f"{MANIFEST_NAME}); reinstall facehalluc, or pass a training run directory / SavedModel")
        return d
    return Path(spec)


def model_kind(path: str | Path) -> str | None:
    """``"savedmodel"``, ``"packed"``, ``"run"`` (a folder with ``config.yaml``) or ``None``."""
    path = Path(path)
    if is_savedmodel_dir(path):
        return "savedmodel"
    if is_packed_dir(path):
        return "packed"
    if (path / CONFIG_NAME).is_file():
        return "run"
    return None
