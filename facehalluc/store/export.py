"""TensorFlow SavedModel export of a trained generator, loadable with TensorFlow alone.

The exported directory is a standard SavedModel (``tf.saved_model.load`` / TensorFlow Serving) with
three signatures.  All images are 128x128 RGB, NHWC, any batch size:

``serving_default``
    input ``masked``: float32 (N, 128, 128, 3) in [0, 1], black (all channels 0) outside the face;
    outputs ``out_128`` float32 (N, 128, 128, 3) in [0, 1] (plus ``out_8`` ... ``out_64``, the
    composited outputs of the lower blocks at their own resolutions, when exported with
    ``all_outputs=True``).  The face mask is *derived*: every pixel with a non-zero channel.
``serving_uint8``
    input ``masked``: uint8 (N, 128, 128, 3) in [0, 255]; outputs ``out_128`` (and ``out_r``) as
    uint8, ``round(clip(x, 0, 1) * 255)``.  Face pixels round-trip bit-exactly.
``serving_with_mask``
    inputs ``masked``: float32 (N, 128, 128, 3) and ``mask``: float32 (N, 128, 128, 1) in {0, 1}
    (the binary face mask, e.g. ``/mask`` of a prepared dataset); same outputs as
    ``serving_default``.  Use it when a face pixel may be pure black (the derived mask would then
    miss it).  ``masked`` is multiplied by ``mask`` first.

A generator with style noise (``model.noise_channels``, the ``sampling`` preset) takes in every signature
the extra float32 inputs ``noise_8``, ``noise_16``, ... (N, r, r, channels), standard normal: one draw per
face is one sample (listed in ``facehalluc_export.json``; :func:`facehalluc.infer.engine.draw_noise` draws
them from a seed exactly as ``infer.py --seed`` does).

In every signature the face-mask pixels of the outputs are exactly the input's face pixels (the
paper's compositing, :class:`facehalluc.models.FaceComposite`).  Next to ``saved_model.pb`` the
exporter writes ``facehalluc_config.yaml`` (the resolved config) and ``facehalluc_export.json``
(signatures, outputs, threshold), which TensorFlow ignores.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import keras

from ..config import Config
from .spec import is_savedmodel_dir

log = logging.getLogger(__name__)

EXPORT_FORMAT_VERSION = 1
SIGNATURES = ("serving_default", "serving_uint8", "serving_with_mask")


class ExportError(ValueError):
    """The model or output directory cannot be exported as asked."""


# --------------------------------------------------------------------------------- keras helpers
def find_cascade(model: keras.Model) -> keras.Model | None:
    """The nested cascade (dict inputs ``masked_{r}``/``mask_{r}``) of an inference model, if any."""
    if _is_cascade(model):
        return model
    for layer in model.layers:
        if isinstance(layer, keras.Model) and _is_cascade(layer):
            return layer
    return None


def _is_cascade(model: keras.Model) -> bool:
    names = {getattr(t, "name", "").split(":")[0] for t in model.inputs}
    return any(n.startswith("mask_") for n in names) and any(n.startswith("masked_") for n in names)


def output_names(model: keras.Model) -> list[str]:
    """Output keys of an inference model (``out_128`` first, then the lower blocks ascending)."""
    names = list(model.output_names) if not isinstance(model.output, dict) else list(model.output)
    lower = sorted((n for n in names if n != "out_128"), key=lambda n: int(n.split("_")[-1]))
    return (["out_128"] if "out_128" in names else []) + lower


def as_inference_model(model: keras.Model, cfg: Config, all_outputs: bool = True) -> keras.Model:
    """Accepts an inference model (single 128x128 input) or a cascade (dict inputs) and returns an
    inference model; a cascade is wrapped with :func:`facehalluc.models.build_inference_model`."""
    from ..models import build_inference_model, noise_shapes

    if _is_cascade(model):
        return build_inference_model(model, cfg, with_mask_input=False, all_outputs=all_outputs)
    if len(model.inputs) != 1 + len(noise_shapes(cfg)):
        raise ExportError(f"expected an inference model with one (N,128,128,3) input (plus the noise inputs "
                          f"{list(noise_shapes(cfg))}) or a cascade, got inputs {[t.name for t in model.inputs]}")
    return model


def inference_fns(model: keras.Model, cfg: Config, all_outputs: bool):
    """``(default_fn, with_mask_fn, outputs)``: plain functions masked -> dict, (masked, mask) -> dict
    (a style-noise generator's take the ``noise_r`` tensors after them, in ascending r).

    With a nested cascade the mask-input function feeds the given mask into the pyramid (exactly as
    in training); otherwise (ProGAN: block_128 alone) it runs the model on ``masked * mask`` and
    composites the given mask's face pixels over the result.
    """
    from keras import ops

    from ..models import build_inference_model

    names = output_names(model)
    if not all_outputs:
        names = ["out_128"]
    if "out_128" not in names:
        raise ExportError(f"model has no out_128 output (outputs: {output_names(model)})")
    if all_outputs and len(names) == 1 and len(cfg.model.resolutions) > 1:
        log.info("model has only out_128 (ProGAN regime): all_outputs exports out_128 alone")
    threshold = float(cfg.model.mask_threshold)

    def default_fn(masked, *noise):
        out = model([masked, *noise] if noise else masked, training=False)
        return {k: out[k] for k in names}

    cascade = find_cascade(model)
    if cascade is not None:
        mask_model = build_inference_model(cascade, cfg, with_mask_input=True, all_outputs=True,
                                           name="facehalluc_inference_with_mask")

        def with_mask_fn(masked, mask, *noise):
            mask = ops.cast(ops.greater_equal(mask, 0.5), masked.dtype)
            out = mask_model([masked * mask, mask, *noise], training=False)
            return {k: out[k] for k in names}
    else:
        def with_mask_fn(masked, mask):
            mask = ops.cast(ops.greater_equal(mask, 0.5), masked.dtype)
            face = masked * mask
            out = model(face, training=False)
            region = ops.greater_equal(mask, threshold)
            return {k: ops.where(ops.broadcast_to(region, ops.shape(out[k])), face, out[k]) if k == "out_128"
                    else out[k] for k in names}
    return default_fn, with_mask_fn, names


# ------------------------------------------------------------------------------------------ export
def export_savedmodel(inference_model_or_run_dir: keras.Model | str | Path, out_dir: str | Path,
                      cfg: Config | None = None, all_outputs: bool = False, overwrite: bool = False) -> Path:
    """Writes a TensorFlow SavedModel with the signatures documented in this module.

    ``inference_model_or_run_dir``: an inference model (as returned by
    ``facehalluc.train.load_generator``), a cascade from ``build_cascade`` or a training run
    directory (loaded with ``load_generator``; ``cfg`` then defaults to the run's config).
    ``all_outputs``: also export ``out_8`` ... ``out_64`` (cascade regime only).
    ``overwrite``: replace an existing SavedModel at ``out_dir`` (a non-empty folder that is not a
    SavedModel is never touched).  Returns ``out_dir``.
    """
    import tensorflow as tf

    from ..models import noise_shapes

    out_dir = Path(out_dir)
    if isinstance(inference_model_or_run_dir, (str, Path)):
        from .open import load_generator

        model, run_cfg = load_generator(Path(inference_model_or_run_dir))
        cfg = cfg or run_cfg
    else:
        model = inference_model_or_run_dir
    if cfg is None:
        raise ExportError("export_savedmodel needs cfg when given a Keras model")
    model = as_inference_model(model, cfg, all_outputs=True)
    top = cfg.model.resolutions[-1]
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        if not is_savedmodel_dir(out_dir):
            raise ExportError(f"{out_dir}: exists, is not empty and is not a SavedModel; refusing to overwrite")
        if not overwrite:
            raise ExportError(f"{out_dir}: a SavedModel is already there; pass overwrite=True to replace it")
        shutil.rmtree(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)

    default_fn, with_mask_fn, names = inference_fns(model, cfg, all_outputs)
    if all_outputs and names == ["out_128"] and len(cfg.model.resolutions) > 1:
        log.warning("%s: the model has no lower-block outputs (ProGAN regime); exporting out_128 only",
                    out_dir)

    def uint8_fn(masked_u8, *noise):
        x = tf.cast(masked_u8, tf.float32) / 255.0
        out = default_fn(x, *noise)
        return {k: tf.cast(tf.round(tf.clip_by_value(v, 0.0, 1.0) * 255.0), tf.uint8) for k, v in out.items()}

    archive = keras.export.ExportArchive()
    archive.track(model)
    img_f = tf.TensorSpec((None, top, top, 3), tf.float32, name="masked")
    shapes = noise_shapes(cfg)
    noise = [tf.TensorSpec((None, *shape), tf.float32, name=k) for k, shape in shapes.items()]
    archive.add_endpoint("serving_default", default_fn, input_signature=[img_f, *noise])
    archive.add_endpoint("serving_uint8", uint8_fn,
                         input_signature=[tf.TensorSpec((None, top, top, 3), tf.uint8, name="masked"), *noise])
    archive.add_endpoint("serving_with_mask", with_mask_fn,
                         input_signature=[img_f, tf.TensorSpec((None, top, top, 1), tf.float32, name="mask"),
                                          *noise])
    archive.write_out(str(out_dir), verbose=False)
    noise_doc = {k: f"float32 (N,{r},{r},{c}) standard normal" for k, (r, _, c) in shapes.items()}

    cfg.save(out_dir / "facehalluc_config.yaml")
    meta: dict[str, Any] = {
        "format_version": EXPORT_FORMAT_VERSION,
        "config_name": cfg.name,
        "regime": cfg.train.regime,
        "resolution": top,
        "outputs": names,
        "mask_threshold": cfg.model.mask_threshold,
        "noise_inputs": {k: list(v) for k, v in shapes.items()},
        "signatures": {
            "serving_default": {"inputs": {"masked": f"float32 (N,{top},{top},3) in [0,1]", **noise_doc},
                                "outputs": {k: "float32 in [0,1]" for k in names},
                                "mask": "derived: pixels with any non-zero channel"},
            "serving_uint8": {"inputs": {"masked": f"uint8 (N,{top},{top},3)", **noise_doc},
                              "outputs": {k: "uint8" for k in names},
                              "mask": "derived: pixels with any non-zero channel"},
            "serving_with_mask": {"inputs": {"masked": f"float32 (N,{top},{top},3) in [0,1]",
                                             "mask": f"float32 (N,{top},{top},1) in {{0,1}}", **noise_doc},
                                  "outputs": {k: "float32 in [0,1]" for k in names},
                                  "mask": "given"},
        },
    }
    (out_dir / "facehalluc_export.json").write_text(json.dumps(meta, indent=2))
    return out_dir


