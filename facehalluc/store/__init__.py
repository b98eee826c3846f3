"""Every trained-generator artefact: run directories, packed (shipped) folders, SavedModel exports.

* :mod:`.spec` — the on-disk names, :func:`resolve_model` (the one place a ``--model`` value is read:
  ``default`` -> the shipped folder) and :func:`model_kind`;
* :mod:`.open` — :func:`open_model` / :func:`load_generator`, the one loader every script uses;
* :mod:`.run_dir` — what training writes (``config.yaml`` + ``generator.weights.h5``);
* :mod:`.packed` — the float16 packed format and the shipped generator (``shipped/``, package data);
* :mod:`.export` — TensorFlow SavedModel export (:func:`export_savedmodel`).

Importing ``facehalluc.store`` (or :mod:`.spec`) does not import Keras: the names below are loaded from their
module on first use, so a CLI can resolve ``--model`` before it silences TensorFlow.
"""
from __future__ import annotations

import importlib

from .spec import (DEFAULT_NAME, ModelPathError, RunDirError, ShippedModelError, is_packed_dir,
                   is_savedmodel_dir, model_kind, resolve_model, shipped_dir)

_LAZY = {
    "build_generator": "build", "build_progan_inference_model": "build",
    "OpenedModel": "open", "load_generator": "open", "load_savedmodel": "open", "open_model": "open",
    "atomic_save_weights": "run_dir", "check_weights_file": "run_dir", "load_run_dir": "run_dir",
    "save_generator": "run_dir", "export_savedmodel": "export",
}


def __getattr__(name: str):
    if name in _LAZY:  # deferred: these modules import Keras
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_NAME", "ModelPathError", "RunDirError", "ShippedModelError", "is_packed_dir",
           "is_savedmodel_dir", "model_kind", "resolve_model", "shipped_dir", *_LAZY]
