"""tf.distribute strategy selection for ``--strategy auto|default|mirrored|multiworker``, and the
few collectives a multi-worker run needs besides the train step (see docs/training.md, "Several machines").

In a multi-worker run only the chief touches the run directory.  The other workers learn the resume
point and the restored weights from the chief through :func:`broadcast_from_chief`, so they need the
data file and the same command line, nothing else; they write nothing at all (our checkpoint writer
reads the local copies of mirrored variables, no collective, so it needs no "temporary directory"
on non-chief workers as ``tf.train.Checkpoint`` / ``model.save`` do).
"""
from __future__ import annotations

import faulthandler
import hashlib
import json
import logging
import os
import sys
from typing import Sequence

import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)


def make_strategy(kind: str, join_timeout_s: float = 0) -> tf.distribute.Strategy:
    """``auto``: MirroredStrategy when more than one GPU is visible, else the default strategy.

    ``mirrored``: synchronous data parallelism over the local GPUs (or CPU devices);
    ``multiworker``: MultiWorkerMirroredStrategy across machines described by ``$TF_CONFIG``; create it
    before any other TensorFlow op of the process (``train()`` does so first thing).  ``join_timeout_s``
    > 0 ends the process (exit code 1) when not every worker has started within that many seconds.
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
        # Blocks until every worker of $TF_CONFIG has started, inside TF's C++ with the GIL held: neither a
        # Python timer nor SIGINT/SIGTERM get through, and TF 2.21 ignored cluster_register_timeout_in_ms
        # here, so faulthandler's C watchdog bounds the wait (exit code 1 after dumping the stacks).  From
        # then on TF's coordination service exchanges heartbeats: a worker that dies or hangs aborts every
        # collective of the others within about 10 s (tf.errors.UnavailableError).
        n = sum(len(v) for v in json.loads(os.environ["TF_CONFIG"]).get("cluster", {}).values())
        print(f"train.py: waiting for the {n} workers of $TF_CONFIG to start"
              + (f" (at most {join_timeout_s:g} s, train.cluster_join_timeout_s)" if join_timeout_s > 0 else ""),
              file=sys.stderr, flush=True)
        if join_timeout_s > 0:
            faulthandler.dump_traceback_later(join_timeout_s, exit=True)
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        finally:
            if join_timeout_s > 0:
                faulthandler.cancel_dump_traceback_later()
    raise ValueError(f"unknown strategy {kind!r}; use auto, default, mirrored or multiworker")


class WorkerLost(RuntimeError):
    """Another worker of a multi-worker run died or hung; restart every worker with --resume."""


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
        whose = "this worker's" if differs else "another worker's"
        raise ValueError(f"the workers' configs or data differ ({whose} differ from the chief's): start every "
                         f"worker with the same --config, overrides, --epochs/--steps-per-epoch, --resume and data")
