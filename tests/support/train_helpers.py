"""Helpers for the training tests: small in-memory data sources at reduced resolutions."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def small_config(resolutions: tuple[int, ...] = (8, 16), overrides: list[str] | None = None):
    """``tiny`` at the given resolutions (fast to trace), L_pc/L_id off unless overridden."""
    from facehalluc.config import load_config

    res = ",".join(str(r) for r in resolutions)
    base = [f"model.resolutions=({res})", f"preprocess.output_size={resolutions[-1]}",
            "train.batch_size=4", "loss.use_pc=false", "loss.use_id=false", "train.snapshot_epochs=()"]
    return load_config("tiny", base + list(overrides or []))


def synthetic_source(cfg, tmp_dir: Path, n: int = 16, steps_per_epoch: int = 4, nan_after: int | None = None):
    """A deterministic DataSource from ``write_synthetic_dataset`` faces resized to cfg's resolutions.

    ``nan_after``: batches from this index on have NaN targets (to trip the NaN guard).
    """
    import tensorflow as tf

    from facehalluc.data import read_arrays, write_synthetic_dataset
    from facehalluc.models import image_pyramid
    from facehalluc.train.run import DataSource

    path = write_synthetic_dataset(Path(tmp_dir) / "synthetic.h5", n=n, val_fraction=0.25, seed=0)
    res = tuple(cfg.model.resolutions)
    bs = cfg.train.batch_size

    def tensors(split: str) -> dict[str, np.ndarray]:
        a = read_arrays(path, split)
        full = tf.constant(a.aligned.astype(np.float32) / 255.0)
        masked = tf.constant(a.masked.astype(np.float32) / 255.0)
        mask = tf.constant(a.mask[..., None].astype(np.float32))
        out = {}
        for name, x in (("full", full), ("masked", masked), ("mask", mask)):
            top = tf.image.resize(x, (res[-1], res[-1]), method="bilinear", antialias=False) \
                if res[-1] != 128 else x
            out.update({f"{name}_{r}": np.asarray(v) for r, v in image_pyramid(top, res).items()})
        return out

    train_t, val_t = tensors("train"), tensors("val")
    n_train = len(next(iter(train_t.values())))

    def train(seed: int) -> tf.data.Dataset:
        ds = tf.data.Dataset.from_tensor_slices(train_t).shuffle(n_train, seed=seed,
                                                                 reshuffle_each_iteration=True)
        ds = ds.repeat().batch(bs, drop_remainder=True)
        if nan_after is not None:
            def poison(i, b):
                bad = i >= nan_after
                return {k: (tf.where(bad, tf.fill(tf.shape(v), np.float32("nan")), v) if k.startswith("full_")
                            else v) for k, v in b.items()}
            ds = ds.enumerate().map(poison)
        return ds

    def val() -> tf.data.Dataset:
        return tf.data.Dataset.from_tensor_slices(val_t).batch(bs, drop_remainder=False)

    return DataSource(train, steps_per_epoch, val, f"synthetic {n_train} train")
