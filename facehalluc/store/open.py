"""One loader for every stored generator (as stylegan2-ada-pytorch's ``legacy.load_network_pkl``): every
CLI, application and evaluation script opens ``--model`` through :func:`open_model` or
:func:`load_generator`, both of which resolve the value with :func:`facehalluc.store.spec.resolve_model`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from .spec import ModelPathError, RunDirError, ShippedModelError, model_kind, resolve_model


@dataclass
class OpenedModel:
    """``kind``: ``"run"``, ``"packed"`` or ``"savedmodel"``; ``model``: the Keras inference model (run,
    packed) or the object ``tf.saved_model.load`` returned (savedmodel)."""
    kind: str
    path: Path
    model: Any
    cfg: Config


def load_generator(run_dir: str | Path, weights: str | Path | None = None):
    """(Keras inference model, config) of a run directory or packed folder.

    ``run_dir``: a training run directory, a packed folder (``facehalluc.store.packed.pack``; float16
    weights, sha256-checked) or, as a string, ``"default"`` (the shipped model).  ``weights`` (run
    directories only) defaults to ``run_dir/generator.weights.h5`` (pass e.g. an epoch snapshot instead).
    The returned model takes (N, 128, 128, 3) masked faces in [0, 1] and returns a dict with
    ``out_128`` (and every ``out_r`` for the cascade regime).
    """
    from .packed import load_packed_generator
    from .run_dir import load_run_dir

    run_dir = resolve_model(run_dir) if isinstance(run_dir, str) else Path(run_dir)  # "default": shipped
    if model_kind(run_dir) == "packed":  # the shipped model's folder (or another pack()ed one)
        if weights is not None:
            raise RunDirError(f"{run_dir}: a packed model folder has one weights file; --weights does not apply")
        return load_packed_generator(run_dir)
    return load_run_dir(run_dir, weights)


def load_savedmodel(path: str | Path) -> tuple[Any, Config]:
    """(``tf.saved_model.load`` object, config) of an exported SavedModel (config ``paper`` when the export
    has no ``facehalluc_config.yaml``)."""
    import tensorflow as tf  # deferred: TensorFlow is heavy and only SavedModels need it here

    path = Path(path)
    cfg_path = path / "facehalluc_config.yaml"
    cfg = load_config(cfg_path) if cfg_path.is_file() else load_config("paper")
    return tf.saved_model.load(str(path)), cfg


def open_model(spec: str | Path | None = "default", weights: str | Path | None = None) -> OpenedModel:
    """Opens a ``--model`` value: ``"default"`` / ``None`` (the shipped generator), a run directory, a packed
    folder or a SavedModel.  :class:`ModelPathError` when it is none of them (or the shipped model is
    missing)."""
    try:
        path = resolve_model(spec) if isinstance(spec, str) or spec is None else Path(spec)
    except ShippedModelError as e:
        raise ModelPathError(str(e)) from e
    kind = model_kind(path)
    if kind == "savedmodel":
        model, cfg = load_savedmodel(path)
        return OpenedModel(kind, path, model, cfg)
    if kind in ("run", "packed"):
        model, cfg = load_generator(path, weights)
        return OpenedModel(kind, path, model, cfg)
    raise ModelPathError(f"{path}: neither a run directory (no config.yaml) nor a SavedModel "
                         f"(no saved_model.pb)")
