"""Debug records of distributed training runs, from outside the package: which examples each replica
trained on, per-step losses, final weights (tests/train/test_multiworker.py).

Run ``train.py`` through this file instead of directly::

    FACEHALLUC_WORKER_DEBUG_DIR=DIR python tests/support/train_debug.py <train.py arguments>

With ``$FACEHALLUC_WORKER_DEBUG_DIR`` set, :func:`install` swaps :class:`RecordingTrainer` (a ``GANTrainer``
subclass) in for ``facehalluc.train.run.GANTrainer`` and makes the HDF5 batches carry their row numbers
(``h5_source(..., with_index=True)``), then ``train.py`` runs unchanged.  Every training process writes,
into that folder (never into the run directory)::

    <task>.ids.jsonl     one line per step and replica: {"step", "replica", "ids"}; ids are the HDF5 row
                         numbers of the examples that replica trained on (``make_dataset(with_index=True)``)
    <task>.steps.jsonl   one line per step: {"step", "time", "logs"} (fit()'s running means, as reduced by Keras)
    <task>.final.h5      every trainer variable after the last fit(), in the checkpoint format

where ``<task>`` is ``single`` or ``worker_0``, ``worker_1``, ``chief_0``... .  Without the variable the script
is plain ``train.py``.  The package's train step has no hook: this used to be ``facehalluc/train/debug.py``.

``$FACEHALLUC_DEBUG_KILL=<task>:<step>`` (with the folder set) makes that task SIGKILL itself right after
that global step, to test what the other workers do when one dies.
"""
from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

if __name__ == "__main__":  # run as a script: the checkout first on sys.path, as for ``python train.py``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from facehalluc.train.callbacks import NaNGuard  # noqa: E402
from facehalluc.train.trainer import GANTrainer  # noqa: E402

ENV = "FACEHALLUC_WORKER_DEBUG_DIR"
KILL_ENV = "FACEHALLUC_DEBUG_KILL"
REPO = Path(__file__).resolve().parents[2]


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
        from facehalluc.train.checkpoint import save_checkpoint

        save_checkpoint(self.folder / f"{self.task}.final.h5", self.model, self.state_fn())


class RecordingTrainer(GANTrainer):
    """``GANTrainer`` that logs the row numbers of every replica's examples from its train step and adds a
    :class:`StepLog` to every fit(); ``folder`` is set by :func:`install`."""

    folder: Path | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.example_log: ExampleLog | None = None
        self._step_log: StepLog | None = None

    def train_step(self, data):
        if self.example_log is not None and "index" in data:
            record_examples(self.example_log, self.g_optimizer.iterations + 1, data["index"])
        return super().train_step(data)

    def fit(self, *args, callbacks=None, **kwargs):
        callbacks = list(callbacks or [])
        folder = type(self).folder
        if folder is None:
            return super().fit(*args, callbacks=callbacks, **kwargs)
        task = task_name(self.distribute_strategy)
        if self.example_log is None:
            self.example_log = ExampleLog(folder / f"{task}.ids.jsonl")
        # the training driver's state function (global step of this stage) is the NaN guard's
        state_fn = next(c.state_fn for c in callbacks if isinstance(c, NaNGuard))
        if self._step_log is None or self._step_log.state_fn is not state_fn:
            self._step_log = StepLog(folder, task, state_fn)
        return super().fit(*args, callbacks=[*callbacks, self._step_log], **kwargs)


def install(folder: Path) -> None:
    """Makes ``facehalluc.train.run.train`` build :class:`RecordingTrainer` and read batches with row numbers."""
    import facehalluc.train.run as run

    RecordingTrainer.folder = Path(folder)
    h5_source = run.h5_source

    def h5_source_with_index(path, cfg, with_index: bool = True):
        return h5_source(path, cfg, with_index=True)

    run.GANTrainer = RecordingTrainer
    run.h5_source = h5_source_with_index


def main(argv: list[str]) -> None:
    """``train.py`` with the records installed when ``$FACEHALLUC_WORKER_DEBUG_DIR`` is set."""
    folder = debug_dir()
    if folder is not None:
        install(folder)
    sys.argv = [str(REPO / "train.py"), *argv]
    runpy.run_path(str(REPO / "train.py"), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
