"""The generator a stored artefact holds, rebuilt from its config (run directories and packed folders)."""
from __future__ import annotations

import keras
from keras import layers

from ..config import Config
from ..models import FaceComposite, build_cascade, build_generator_block, build_inference_model
from ..models.generator import MaskFromMasked


def build_generator(cfg: Config) -> keras.Model:
    """The generator whose weights a run directory stores: the cascade, or block_128 for progan."""
    if cfg.train.regime == "progan":
        return build_generator_block(cfg.model.resolutions[-1], cfg)
    return build_cascade(cfg)


def build_progan_inference_model(block: keras.Model, cfg: Config,
                                 name: str = "facehalluc_progan_inference") -> keras.Model:
    """block_128 alone, then face compositing at 128 (mask = pixels with any non-zero channel)."""
    top = cfg.model.resolutions[-1]
    masked = keras.Input((top, top, 3), name="masked")
    mask = MaskFromMasked(name="mask_from_masked")(masked)
    x = masked
    if cfg.model.mask_injection == "concat":
        x = layers.Concatenate(name="inject_mask")([masked, masked])
    raw = block(x)
    out = FaceComposite(cfg.model.mask_threshold, name="face_composite")([mask, masked, raw])
    out = layers.Identity(name=f"out_{top}")(out)
    return keras.Model(masked, {f"out_{top}": out}, name=name)


def inference_model(generator: keras.Model, cfg: Config) -> keras.Model:
    """The inference model (dict of ``out_r``) around a stored generator."""
    if cfg.train.regime == "progan":
        return build_progan_inference_model(generator, cfg)
    return build_inference_model(generator, cfg, all_outputs=True)
