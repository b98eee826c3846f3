"""Debug hook for distributed runs: which examples each replica trained on, per-step losses, final weights.

Off unless ``$FACEHALLUC_WORKER_DEBUG_DIR`` is set (tests/test_multiworker.py sets it).  Then every
training process writes, into that folder (never into the run directory)::

    <task>.ids.jsonl     one line per step and replica: {"step", "replica", "ids"}; ids are the HDF5 row
                         numbers of the examples that replica trained on (``make_dataset(with_index=True)``)
    <task>.steps.jsonl   one line per step: {"step", "time", "logs"} (fit()'s running means, as reduced by Keras)
    <task>.final.h5      every trainer variable after the last fit(), in the checkpoint format

where ``<task>`` is ``single`` or ``worker_0``, ``worker_1``, ``chief_0``... .  When the variable is unset
the batches carry no row numbers and the train step has no extra op, so normal training is unchanged.

``$FACEHALLUC_DEBUG_KILL=<task>:<step>`` (with the folder set) makes that task SIGKILL itself right after
that global step, to test what the other workers do when one dies.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

ENV = "FACEHALLUC_WORKER_DEBUG_DIR"
KILL_ENV = "FACEHALLUC_DEBUG_KILL"


def debug_dir() -> Path | None:
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


def task_name(strategy: tf.distribute.Strategy) -> str:
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None \
            or resolver.task_type is None:
        return "single"
    return f"{resolver.task_type}_{int(resolver.task_id)}"


class ExampleLog:
    """``tf.py_function`` target called from the train step of every replica: appends one JSON line."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def __call__(self, step, replica, ids) -> None:
        line = json.dumps({"step": int(step), "replica": int(replica),
                           "ids": [int(i) for i in np.asarray(ids).reshape(-1)]})
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def record_examples(log: ExampleLog, step, index) -> None:
    """Inside the (replica) train step: logs ``index`` with the step number and the global replica id."""
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    tf.py_function(log, [tf.cast(step, tf.int64), tf.cast(replica, tf.int64), index], [])


class StepLog(keras.callbacks.Callback):
    """Per-step logs and, at the end of every fit(), all trainer variables (overwritten each time)."""

    def __init__(self, folder: Path, task: str, state_fn: Callable):
        super().__init__()
        self.folder = Path(folder)
        self.task = task
        self.state_fn = state_fn
        self.folder.mkdir(parents=True, exist_ok=True)

    def on_train_batch_end(self, batch, logs=None):
        step = self.state_fn().global_step
        values = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in (logs or {}).items()}
        record = {"step": step, "time": time.time(), "logs": values}
        with open(self.folder / f"{self.task}.steps.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if os.environ.get(KILL_ENV, "") == f"{self.task}:{step}":
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_end(self, logs=None):
        from .checkpoint import save_checkpoint

        save_checkpoint(self.folder / f"{self.task}.final.h5", self.model, self.state_fn())
