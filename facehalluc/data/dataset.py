"""tf.data input pipeline: HDF5 faces -> batches of the multi-scale training tensors.

Each batch is a dict of float32 tensors in [0, 1]::

    masked_{r}  (B,r,r,3)  masked face resized to r x r
    mask_{r}    (B,r,r,1)  binary 128x128 mask resized to r x r (bilinear, so soft at the border)
    full_{r}    (B,r,r,3)  aligned image (the target) resized to r x r

for every r in ``cfg.model.resolutions``.  Pixels are ``uint8 / 255``.  The pyramid is
:func:`facehalluc.models.image_pyramid` / :func:`facehalluc.models.cascade_inputs_from_128`
(bilinear, no anti-aliasing, half-pixel centres), the same functions the exported inference model
uses, so training inputs and SavedModel inputs agree bit for bit on the TensorFlow backend.

Mirroring (``mirror=True``, train split only by default) flips each example left-right with
probability 1/2, the same flip for aligned, masked and mask, before the pyramid.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from ..config import Config
from .schema import check_file, split_code


def _indices(h5_path: Path, split: str) -> np.ndarray:
    code = split_code(split, h5_path)
    with h5py.File(h5_path, "r") as f:
        return np.flatnonzero(f["split"][()] == code).astype(np.int64)


def _pyramid_fn(resolutions: tuple[int, ...], antialias: bool = False):
    """The batch -> dict function (TensorFlow graph code)."""
    import keras
    import tensorflow as tf

    if keras.backend.backend() == "tensorflow":
        from ..models import cascade_inputs_from_128, image_pyramid

        def pyramid(masked, mask, full):
            out = cascade_inputs_from_128(masked, mask, resolutions, antialias)
            out.update({f"full_{r}": v for r, v in image_pyramid(full, resolutions, antialias).items()})
            return out
    else:  # keras.ops are not TF graph ops under other backends: the identical tf.image op
        def _pyr(x):
            top = x.shape[1]
            return {r: x if r == top else tf.image.resize(x, (r, r), method="bilinear", antialias=antialias)
                    for r in resolutions}

        def pyramid(masked, mask, full):
            out = {}
            for name, x in (("masked", masked), ("mask", mask), ("full", full)):
                out.update({f"{name}_{r}": v for r, v in _pyr(x).items()})
            return out
    return pyramid


def make_dataset(h5_path: str | Path, cfg: Config, split: str = "train", batch_size: int | None = None,
                 shuffle: bool = True, mirror: bool | None = None, repeat: bool = False, seed: int = 0,
                 drop_remainder: bool = True, with_index: bool = False):
    """A ``tf.data.Dataset`` of dict batches (see the module docstring).

    Args:
        h5_path: dataset file written by ``data/prepare.py`` or :func:`write_synthetic_dataset`.
        cfg: config; uses ``model.resolutions``, ``train.batch_size``, ``data.mirror``,
            ``data.cache_in_memory`` (load the split into RAM once and shuffle all of it, else stream
            blocks of 64 rows from the file, shuffled within groups of ``data.shuffle_buffer`` rows).
        split: "train" or "val".
        batch_size: None = ``cfg.train.batch_size``.
        shuffle: shuffle the examples (reshuffled every epoch, deterministic for a given seed).
        mirror: None = ``cfg.data.mirror`` for split "train" and False for "val".
        repeat: repeat forever (epochs flow into each other; the shuffle differs per epoch).
        seed: shuffle / mirror seed.
        drop_remainder: drop a last partial batch.
        with_index: add ``index`` (B,) int64, each example's row in the file (an example id, for the
            multi-worker debug hook); needs ``data.cache_in_memory``.
    """
    import tensorflow as tf

    h5_path = Path(h5_path)
    check_file(h5_path)
    bs = int(batch_size if batch_size is not None else cfg.train.batch_size)
    if bs < 1:
        raise ValueError(f"batch_size must be >= 1, got {bs}")
    if mirror is None:
        mirror = bool(cfg.data.mirror) and split == "train"
    resolutions = tuple(int(r) for r in cfg.model.resolutions)
    if max(resolutions) != 128:
        raise ValueError(f"{h5_path}: datasets hold 128x128 faces, cfg.model.resolutions must end at 128")
    idx = _indices(h5_path, split)
    n = len(idx)
    if n == 0:
        raise ValueError(f"{h5_path}: the {split!r} split is empty")
    if drop_remainder and n < bs and not repeat:
        raise ValueError(f"{h5_path}: the {split!r} split has {n} examples, fewer than one batch of {bs} "
                         f"(pass drop_remainder=False or a smaller batch_size)")

    if with_index and not cfg.data.cache_in_memory:
        raise ValueError("make_dataset(with_index=True) needs data.cache_in_memory=true")
    if cfg.data.cache_in_memory:
        with h5py.File(h5_path, "r") as f:  # whole arrays, then numpy indexing (h5py point selection is slow)
            everything = n == f["split"].shape[0]
            aligned = tf.constant(f["aligned"][()] if everything else f["aligned"][()][idx])
            masked = tf.constant(f["masked"][()] if everything else f["masked"][()][idx])
            mask = tf.constant(f["mask"][()] if everything else f["mask"][()][idx])
        pos = tf.data.Dataset.range(n)
        if shuffle:
            pos = pos.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            pos = pos.repeat()
        flips = tf.data.Dataset.random(seed=seed + 1).map(lambda r: tf.equal(r % 2, 1))
        ds = tf.data.Dataset.zip(pos, flips).batch(bs, drop_remainder=drop_remainder)

        def load(p, flip):
            return tf.gather(aligned, p), tf.gather(masked, p), tf.gather(mask, p), flip
    else:
        block = 64  # rows read together (the files are chunked by 64 rows)
        blocks = [idx[i:i + block] for i in range(0, n, block)]
        group = max(1, int(cfg.data.shuffle_buffer) // block)  # blocks shuffled together

        def read(f, rows: np.ndarray):
            lo, hi = int(rows[0]), int(rows[-1]) + 1  # one contiguous read, then select
            sel = rows - lo
            return f["aligned"][lo:hi][sel], f["masked"][lo:hi][sel], f["mask"][lo:hi][sel]

        def gen() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
            """Streams batches: block order permuted every epoch, examples shuffled within groups of
            ``shuffle_buffer`` rows (an approximate shuffle, as with any streaming reader)."""
            rng = np.random.default_rng(seed)
            with h5py.File(h5_path, "r") as f:
                while True:
                    order = rng.permutation(len(blocks)) if shuffle else np.arange(len(blocks))
                    carry = None
                    for g in range(0, len(order), group):
                        parts = [read(f, blocks[b]) for b in order[g:g + group]]
                        arrays = [np.concatenate([p[k] for p in parts]) for k in range(3)]
                        if carry is not None:
                            arrays = [np.concatenate([c, a]) for c, a in zip(carry, arrays)]
                        if shuffle:
                            perm = rng.permutation(len(arrays[0]))
                            arrays = [a[perm] for a in arrays]
                        last = g + group >= len(order)
                        m = len(arrays[0])
                        stop = m if last else m - (m % bs)
                        for start in range(0, stop, bs):
                            chunk = [a[start:start + bs] for a in arrays]
                            if len(chunk[0]) < bs and drop_remainder:
                                break
                            yield (*chunk, rng.integers(0, 2, len(chunk[0])).astype(bool))
                        carry = [a[stop:] for a in arrays] if not last else None
                    if not repeat:
                        return

        ds = tf.data.Dataset.from_generator(gen, output_signature=(
            tf.TensorSpec((None, 128, 128, 3), tf.uint8), tf.TensorSpec((None, 128, 128, 3), tf.uint8),
            tf.TensorSpec((None, 128, 128), tf.uint8), tf.TensorSpec((None,), tf.bool)))

        def load(a, m, k, flip):
            return a, m, k, flip

    pyramid = _pyramid_fn(resolutions, cfg.model.pyramid_antialias)

    def to_batch(*args):
        a, m, k, flip = load(*args)
        full = tf.cast(a, tf.float32) / 255.0
        msk = tf.cast(m, tf.float32) / 255.0
        k = tf.cast(k[..., None], tf.float32)
        if mirror:
            f4 = tf.reshape(flip, (-1, 1, 1, 1))
            full = tf.where(f4, tf.reverse(full, axis=[2]), full)
            msk = tf.where(f4, tf.reverse(msk, axis=[2]), msk)
            k = tf.where(f4, tf.reverse(k, axis=[2]), k)
        if drop_remainder:
            full = tf.ensure_shape(full, (bs, 128, 128, 3))
            msk = tf.ensure_shape(msk, (bs, 128, 128, 3))
            k = tf.ensure_shape(k, (bs, 128, 128, 1))
        out = pyramid(msk, k, full)
        if with_index:  # cached path: args[0] holds the positions in the split
            out["index"] = tf.gather(tf.constant(idx), args[0])
        return out

    ds = ds.map(to_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
