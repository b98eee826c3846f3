"""Training one identity classifier (one arm, one seed) and extracting its verification features.

Deterministic given ``seed``: ``keras.utils.set_random_seed(seed)`` before the network is built (so
both arms of a seed start from the same initial weights — a paired comparison), and a NumPy generator
seeded with ``(seed, arm)`` for the batch order and the flips.  TensorFlow's op determinism is switched
on when that backend is used.

Schedule: SGD with Nesterov momentum, a linear warm-up over the first epoch's steps to ``lr``, then
cosine decay to 0 at the last step; L2 weight decay through the layers' regularisers; horizontal
flips with probability 1/2 (the only augmentation: any other would blur what the arms compare).
Batches are drawn from successive random permutations of the pool of training images (the last
partial batch of a permutation is completed from the next one), so any number of steps is possible.
"""
from __future__ import annotations

import math
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from .model import RecognizerConfig, build_recognizer


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    flip: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


class ConcatImages:
    """Rows of several image arrays seen as one (``len``, ``pool[index_array]``) without copying them
    into one array (at paper scale the real and hallucinated sets are tens of GB each)."""

    def __init__(self, *parts: np.ndarray):
        self.parts = [p for p in parts if len(p)]
        if not self.parts:
            raise ValueError("no images")
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])
        self.shape = (int(self.offsets[-1]), *self.parts[0].shape[1:])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx) -> np.ndarray:
        idx = np.asarray(idx, np.int64)
        out = np.empty((len(idx), *self.shape[1:]), self.parts[0].dtype)
        part = np.searchsorted(self.offsets, idx, side="right") - 1
        for k, p in enumerate(self.parts):
            sel = part == k
            if sel.any():
                out[sel] = p[idx[sel] - self.offsets[k]]
        return out


@contextmanager
def op_determinism() -> Iterator[None]:
    """TensorFlow's op determinism on inside the block and restored afterwards (it is process-wide: left
    on, it would also disable XLA for every later Keras model of the process)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    was_on = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            tf_config.disable_op_determinism()


def batch_order(n: int, steps: int, batch_size: int, rng: np.random.Generator):
    """Yields ``steps`` index arrays of ``batch_size`` drawn from successive permutations of range(n)."""
    buf = np.empty(0, np.int64)
    for _ in range(steps):
        while len(buf) < batch_size:
            buf = np.concatenate([buf, rng.permutation(n)])
        yield buf[:batch_size]
        buf = buf[batch_size:]


def train_recognizer(x: np.ndarray, y: np.ndarray, n_classes: int, rcfg: RecognizerConfig, tcfg: TrainConfig,
                     steps: int, warmup_steps: int, seed: int, arm: str, progress: bool = True,
                     log_every: int | None = None):
    """Trains on uint8 images ``x`` (n, S, S, 3) — an array or a :class:`ConcatImages` — with labels ``y``;
    returns (classifier, embedder, history).
    ``history``: mean loss / accuracy over every ``log_every`` steps, wall seconds."""
    import keras
    from tqdm import tqdm

    if len(x) != len(y):
        raise ValueError("images and labels differ in length")
    keras.utils.set_random_seed(int(seed))
    classifier, embedder = build_recognizer(n_classes, rcfg)
    warmup_steps = int(min(max(warmup_steps, 0), steps - 1))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else tcfg.lr, decay_steps=max(steps - warmup_steps, 1),
        alpha=0.0, warmup_target=tcfg.lr if warmup_steps else None, warmup_steps=warmup_steps)
    optimizer = keras.optimizers.SGD(schedule, momentum=tcfg.momentum, nesterov=True)
    classifier.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                       jit_compile=False)
    rng = np.random.default_rng([int(seed), zlib.crc32(arm.encode())])
    log_every = log_every or max(1, math.ceil(len(x) / tcfg.batch_size))
    history: dict = {"loss": [], "accuracy": [], "steps_per_point": int(log_every)}
    acc_loss, acc_acc, k = 0.0, 0.0, 0
    t0 = time.perf_counter()
    with tqdm(total=steps, desc=f"train {arm}", unit="step", disable=not progress, leave=False) as bar:
        for step, idx in enumerate(batch_order(len(x), steps, tcfg.batch_size, rng)):
            xb = x[idx].astype(np.float32)
            if tcfg.flip:
                flip = rng.random(len(idx)) < 0.5
                xb[flip] = xb[flip, :, ::-1]
            loss, acc = classifier.train_on_batch(xb, y[idx])[:2]
            acc_loss += float(loss)
            acc_acc += float(acc)
            k += 1
            if k == log_every or step == steps - 1:
                history["loss"].append(round(acc_loss / k, 5))
                history["accuracy"].append(round(acc_acc / k, 5))
                bar.set_postfix(loss=f"{acc_loss / k:.3f}", acc=f"{acc_acc / k:.3f}")
                acc_loss, acc_acc, k = 0.0, 0.0, 0
            bar.update(1)
    history["seconds"] = round(time.perf_counter() - t0, 2)
    return classifier, embedder, history


def embed(embedder, x: np.ndarray, batch_size: int = 256, progress: bool = False) -> np.ndarray:
    """Penultimate-layer features of uint8 images (inference mode: BN moving statistics)."""
    from tqdm import tqdm

    feats = []
    for s in tqdm(range(0, len(x), batch_size), desc="embed", unit="batch", disable=not progress, leave=False):
        feats.append(np.asarray(embedder(x[s:s + batch_size].astype(np.float32), training=False)))
    return np.concatenate(feats, 0)
