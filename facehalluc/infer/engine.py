"""A generator ready for inference, from a training run directory or an exported SavedModel."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import Config, load_config

Outputs = dict[str, np.ndarray]


class ModelPathError(ValueError):
    """``--model`` is neither a training run directory nor a SavedModel directory."""


@dataclass
class Hallucinator:
    """Runs the generator on 128x128 masked faces (float32 [0, 1], black outside the face).

    ``run(masked)`` derives the face mask from the non-zero pixels; ``run(masked, mask)`` uses the
    given binary mask (N, 128, 128) or (N, 128, 128, 1) (the preprocessor's landmark-hull mask).
    Returns numpy arrays ``out_128`` and, for the cascade, ``out_8`` ... ``out_64``.
    """

    cfg: Config
    source: str  # "keras" or "savedmodel"
    path: Path | None
    outputs: list[str]
    _default: Callable
    _with_mask: Callable
    keepalive: object = None  # the restored SavedModel object (keeps its variables alive)

    @property
    def resolution(self) -> int:
        return self.cfg.model.resolutions[-1]

    def run(self, masked: np.ndarray, mask: np.ndarray | None = None) -> Outputs:
        masked = np.asarray(masked, np.float32)
        top = self.resolution
        if masked.ndim != 4 or masked.shape[1:] != (top, top, 3):
            raise ValueError(f"masked faces must be (N, {top}, {top}, 3), got {masked.shape}")
        if mask is None:
            out = self._default(masked)
        else:
            mask = np.asarray(mask, np.float32)
            if mask.ndim == 3:
                mask = mask[..., None]
            if mask.shape != masked.shape[:3] + (1,):
                raise ValueError(f"mask must be (N, {top}, {top}[, 1]) matching masked, got {mask.shape}")
            out = self._with_mask(masked, mask)
        return {k: np.asarray(v) for k, v in out.items()}

    __call__ = run


def from_keras(model, cfg: Config, path: Path | None = None, jit_compile: bool | None = None) -> Hallucinator:
    """Wraps a Keras inference model (or a cascade) from ``facehalluc.models`` / ``load_generator``.

    ``jit_compile``: compile the generator with XLA; ``None`` = this CPU's fast path
    (:func:`facehalluc.utils.fastpath.infer_xla`)."""
    import keras

    from ..utils.fastpath import infer_xla

    from ..export import as_inference_model, inference_fns

    model = as_inference_model(model, cfg, all_outputs=True)
    default_fn, with_mask_fn, names = inference_fns(model, cfg, all_outputs=True)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        from ..export import find_cascade

        cascade = find_cascade(model)
        if (cascade is not None and (infer_xla().on if jit_compile is None else jit_compile)
                and not getattr(cascade, "_xla_call", False)):
            # XLA for the cascade only: the anti-aliased pyramid (ScaleAndTranslate) has no XLA kernel
            cascade.call = tf.function(cascade.call, jit_compile=True, reduce_retracing=True)
            cascade._xla_call = True
        default_fn = tf.function(default_fn, reduce_retracing=True)
        with_mask_fn = tf.function(with_mask_fn, reduce_retracing=True)
    return Hallucinator(cfg, "keras", path, names, default_fn, with_mask_fn)


def from_savedmodel(path: str | Path) -> Hallucinator:
    """Loads an exported SavedModel (``facehalluc.export``) with ``tf.saved_model.load``."""
    import tensorflow as tf

    path = Path(path)
    cfg_path = path / "facehalluc_config.yaml"
    cfg = load_config(cfg_path) if cfg_path.is_file() else load_config("paper")
    loaded = tf.saved_model.load(str(path))
    sigs = loaded.signatures
    if "serving_default" not in sigs:
        raise ModelPathError(f"{path}: SavedModel has no serving_default signature (has {list(sigs)})")
    default = sigs["serving_default"]
    with_mask = sigs["serving_with_mask"] if "serving_with_mask" in sigs else None
    names = sorted(default.structured_outputs, key=lambda k: (k != "out_128", int(k.split("_")[-1])))

    def run_default(masked):
        return default(masked=tf.constant(masked))

    def run_with_mask(masked, mask):
        if with_mask is None:  # older export: fall back to the derived mask on masked * mask
            return default(masked=tf.constant(masked * (mask >= 0.5)))
        return with_mask(masked=tf.constant(masked), mask=tf.constant(mask))

    return Hallucinator(cfg, "savedmodel", path, names, run_default, run_with_mask, keepalive=loaded)


def load_hallucinator(path: str | Path | None = "default", weights: str | Path | None = None) -> Hallucinator:
    """``path``: ``"default"`` / ``None`` (the generator shipped in the package), a training run directory
    (``config.yaml`` + ``generator.weights.h5``) or a SavedModel directory written by
    :func:`facehalluc.export.export_savedmodel`."""
    from ..export import is_savedmodel_dir
    from ..pretrained import ShippedModelError, resolve_model

    try:
        path = resolve_model(path) if isinstance(path, str) or path is None else Path(path)
    except ShippedModelError as e:
        raise ModelPathError(str(e)) from e
    if is_savedmodel_dir(path):
        return from_savedmodel(path)
    if (path / "config.yaml").is_file():  # a run directory, or a packed (shipped) folder
        from ..train import load_generator

        model, cfg = load_generator(path, weights)
        return from_keras(model, cfg, path)
    raise ModelPathError(f"{path}: neither a run directory (no config.yaml) nor a SavedModel "
                         f"(no saved_model.pb)")
