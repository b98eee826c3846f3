"""tf.distribute strategy selection for ``--strategy auto|default|mirrored|multiworker``, and the
few collectives a multi-worker run needs besides the train step (see docs/training.md, "Several machines").

In a multi-worker run only the chief touches the run directory.  The other workers learn the resume
point and the restored weights from the chief through :func:`broadcast_from_chief`, so they need the
data file and the same command line, nothing else; they write nothing at all (our checkpoint writer
reads the local copies of mirrored variables, no collective, so it needs no "temporary directory"
on non-chief workers as ``tf.train.Checkpoint`` / ``model.save`` do).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Sequence

import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)

# Peer health check of MultiWorkerMirroredStrategy: TF pings every peer every _INTERVAL seconds (TF
# default 30) with a timeout of _TIMEOUT seconds and 3 attempts; a dead peer aborts all collectives with
# UnavailableError, so the survivors stop instead of waiting forever in the next all-reduce.
HEALTH_CHECK_INTERVAL_S = 10
HEALTH_CHECK_TIMEOUT_S = 10


def make_strategy(kind: str, cluster_wait_s: float = 0) -> tf.distribute.Strategy:
    """``auto``: MirroredStrategy when more than one GPU is visible, else the default strategy.

    ``mirrored``: synchronous data parallelism over the local GPUs (or CPU devices);
    ``multiworker``: MultiWorkerMirroredStrategy across machines described by ``$TF_CONFIG``; it must be
    created before any other TensorFlow op of the process.  ``cluster_wait_s`` > 0 bounds the wait for
    the other workers at start-up (0 = wait forever, TF's default).
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
        _tune_health_check(cluster_wait_s)
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as e:
            if "Timeout waiting for the cluster" in str(e):
                raise WorkerLost(f"not every worker of $TF_CONFIG joined within {cluster_wait_s:g} s: {e}") from e
            raise
    raise ValueError(f"unknown strategy {kind!r}; use auto, default, mirrored or multiworker")


def _tune_health_check(cluster_wait_s: float) -> None:
    """Sets MultiWorkerMirroredStrategy's (class-level, private) health-check timing, when present."""
    try:
        from tensorflow.python.distribute.collective_all_reduce_strategy import CollectiveAllReduceExtended
    except ImportError:  # pragma: no cover - TF moved it; its defaults (30 s interval) still apply
        return
    for name, value in (("_check_health_interval", HEALTH_CHECK_INTERVAL_S),
                        ("_check_health_timeout", HEALTH_CHECK_TIMEOUT_S),
                        ("_check_health_initial_timeout", int(cluster_wait_s))):
        if hasattr(CollectiveAllReduceExtended, name):
            setattr(CollectiveAllReduceExtended, name, value)


class WorkerLost(RuntimeError):
    """Another worker of a multi-worker run died, hung or never joined; restart every worker with --resume."""


def is_worker_failure(exc: BaseException) -> bool:
    """True for the errors a multi-worker run raises when a peer is gone (aborted or timed-out collectives)."""
    return isinstance(exc, (WorkerLost, tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                            tf.errors.CancelledError, tf.errors.AbortedError))


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


def in_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """True for MultiWorkerMirroredStrategy with more than one worker (what Keras' trainer checks too)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    check = getattr(strategy.extended, "_in_multi_worker_mode", None)
    return bool(check()) if check is not None else True


def broadcast_from_chief(strategy: tf.distribute.Strategy, chief: bool,
                         values: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Every worker gets the chief's ``values`` (a SUM all-reduce to which only the chief's first
    replica contributes).  Every worker must call this with arrays of the same shapes and dtypes, in
    the same order.  Integers travel as float64 (exact below 2**53)."""
    if not in_multi_worker(strategy):
        return [np.asarray(v) for v in values]
    ids = strategy.experimental_distribute_values_from_function(lambda ctx: ctx.replica_id_in_sync_group)
    first_local = min(int(i) for i in strategy.experimental_local_results(ids))
    out = []
    for v in values:
        v = np.asarray(v)
        wire = v.astype(np.float64) if not np.issubdtype(v.dtype, np.floating) else v
        zeros = np.zeros_like(wire)

        def value_fn(ctx, wire=wire, zeros=zeros):
            return tf.constant(wire if (chief and ctx.replica_id_in_sync_group == first_local) else zeros)

        per_replica = strategy.experimental_distribute_values_from_function(value_fn)
        total = np.asarray(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))
        out.append(total.astype(v.dtype))
    return out


def sync_variables_from_chief(strategy: tf.distribute.Strategy, chief: bool, variables: Sequence) -> None:
    """Assigns the chief's value of every variable on every worker (after the chief restored a checkpoint)."""
    if not in_multi_worker(strategy):
        return
    for v, value in zip(variables, broadcast_from_chief(strategy, chief, [v.numpy() for v in variables])):
        v.assign(value)


def check_same_setup(strategy: tf.distribute.Strategy, chief: bool, description: str) -> None:
    """Raises ValueError on every worker when one worker's ``description`` (config + data summary)
    differs from the chief's (all of them raise, so none is left waiting in a collective)."""
    if not in_multi_worker(strategy):
        return
    digest = np.frombuffer(hashlib.sha256(description.encode()).digest()[:6], np.uint8).astype(np.float64)
    chief_digest = broadcast_from_chief(strategy, chief, [digest])[0]
    differs = float(not np.array_equal(digest, chief_digest))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(differs)), axis=None)
    if float(total) > 0:
        raise ValueError("the workers' configs or data differ (" + ("this one differs from the chief's" if differs
                         else "another worker's differ from the chief's") + "): start every worker with the "
                         "same --config, overrides, --epochs/--steps-per-epoch and the same data file")
