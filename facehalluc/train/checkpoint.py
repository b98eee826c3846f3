"""Atomic training checkpoints: generator + discriminators + both optimizers + step counters.

One HDF5 file, ``RUN_DIR/checkpoint/state.h5``, written to a temporary file in the same folder,
fsync'ed and moved into place with ``os.replace`` (atomic on POSIX), so a ``kill -9`` at any moment
leaves the previous complete checkpoint or the new complete one.  Variables are stored by position
in the model's / optimizer's variable list (the same code builds the same lists in the same order),
with their shapes checked on restore.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np

from ..utils.atomic import atomic_path
from .trainer import GANTrainer

CHECKPOINT_FILE = "checkpoint/state.h5"
FORMAT = "facehalluc-train-state-1"


class CheckpointError(RuntimeError):
    """A checkpoint file that does not fit the model being resumed."""


@dataclass
class TrainState:
    """Where training stands.  ``global_step`` counts generator updates over the whole run."""

    global_step: int = 0
    epoch: int = 0  # completed epochs (over all ProGAN stages)
    stage: int = 0  # ProGAN stage index (0 for the cascade)
    stage_step: int = 0  # generator updates within the current stage (= g optimizer iterations)
    config_name: str = ""


def _groups(trainer: GANTrainer) -> dict[str, list]:
    return {
        "generator": list(trainer.generator.variables),
        "discriminators": list(trainer.d_variables),
        "g_optimizer": list(trainer.g_optimizer.variables),
        "d_optimizer": list(trainer.d_optimizer.variables),
    }


def save_checkpoint(path: str | Path, trainer: GANTrainer, state: TrainState) -> Path:
    """Writes every variable of ``trainer`` (models and optimizers) and ``state`` atomically."""
    path = Path(path)
    trainer.build_optimizers()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["state"] = json.dumps(asdict(state))
        for group, variables in _groups(trainer).items():
            g = f.create_group(group)
            g.attrs["count"] = len(variables)
            for i, v in enumerate(variables):
                g.create_dataset(str(i), data=np.asarray(v.numpy()))
    return path


def read_state(path: str | Path) -> TrainState:
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not a facehalluc training checkpoint")
        return TrainState(**json.loads(f.attrs["state"]))


def restore_checkpoint(path: str | Path, trainer: GANTrainer) -> TrainState:
    """Loads a checkpoint written by :func:`save_checkpoint` into ``trainer`` (same config)."""
    path = Path(path)
    trainer.build_optimizers()
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not a facehalluc training checkpoint")
        state = TrainState(**json.loads(f.attrs["state"]))
        for group, variables in _groups(trainer).items():
            g = f[group]
            if int(g.attrs["count"]) != len(variables):
                raise CheckpointError(f"{path}: {group} holds {int(g.attrs['count'])} variables, the model "
                                      f"{len(variables)} (different config?)")
            for i, v in enumerate(variables):
                value = g[str(i)][()]
                if tuple(value.shape) != tuple(v.shape):
                    raise CheckpointError(f"{path}: {group} variable {i} ({v.path}) has shape "
                                          f"{tuple(value.shape)} in the file, {tuple(v.shape)} in the model")
                v.assign(value)
    return state
