"""tf.distribute strategy selection for ``--strategy auto|default|mirrored|multiworker``."""
from __future__ import annotations

import json
import os

import tensorflow as tf


def make_strategy(kind: str) -> tf.distribute.Strategy:
    """``auto``: MirroredStrategy when more than one GPU is visible, else the default strategy.

    ``mirrored``: synchronous data parallelism over the local GPUs (or CPU devices);
    ``multiworker``: MultiWorkerMirroredStrategy across machines described by ``$TF_CONFIG``.
    """
    if kind == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("--strategy multiworker needs $TF_CONFIG describing the cluster "
                             "(see docs/training.md, 'Several machines')")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {kind!r}; use auto, default, mirrored or multiworker")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes the run directory (always True outside multi-worker training)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and "chief" not in cluster
