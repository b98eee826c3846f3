"""Run directories: the resolved config and the generator weights, written atomically.

Layout written by training (see ``docs/training.md``)::

    RUN_DIR/config.yaml                 resolved Config (every field)
    RUN_DIR/generator.weights.h5        generator weights (cascade, or block_128 for progan)
    RUN_DIR/checkpoint/                 full training state (resume)
    RUN_DIR/snapshots/epoch_XXX.weights.h5
    RUN_DIR/samples/epoch_XXX.png, RUN_DIR/loss_curves.png, RUN_DIR/history.csv, RUN_DIR/tb/

:func:`save_generator` writes one, :func:`load_run_dir` reads one; inference and evaluation open any stored
generator through :func:`facehalluc.store.open_model` / :func:`facehalluc.store.load_generator`.
"""
from __future__ import annotations

from pathlib import Path

import keras

from ..config import Config, load_config
from ..utils.atomic import atomic_path, atomic_write_text  # noqa: F401 - atomic_write_text re-exported
from .build import build_generator, inference_model
from .spec import CONFIG_NAME, GENERATOR_NAME, RunDirError


def atomic_save_weights(model: keras.Model, path: str | Path) -> Path:
    """``model.save_weights`` to a temporary file, fsync, then ``os.replace`` onto ``path``.

    A process killed at any point leaves either the previous file or the new one, never a torn one.
    """
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise ValueError(f"{path}: weight files must end with .weights.h5")
    with atomic_path(path) as tmp:
        model.save_weights(str(tmp))
    return path


def check_weights_file(path: str | Path, model: keras.Model) -> None:
    """Raises :class:`RunDirError` unless the ``.weights.h5`` file holds exactly ``model``'s variable shapes.

    Keras only warns when a weights file belongs to another architecture; this makes it an error.
    """
    import h5py

    shapes: list[tuple[int, ...]] = []
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda _k, v: shapes.append(tuple(v.shape)) if isinstance(v, h5py.Dataset) else None)
    except OSError as e:
        raise RunDirError(f"{path}: not a readable HDF5 weights file ({e})") from e
    want = sorted(tuple(int(d) for d in w.shape) for w in model.weights)
    if sorted(shapes) != want:
        raise RunDirError(f"{path}: cannot load these weights into {model.name!r}: the file holds "
                          f"{len(shapes)} arrays, the model {len(want)} variables (different architecture "
                          f"or config?)")


def save_generator(run_dir: str | Path, cfg: Config, generator: keras.Model) -> Path:
    """Writes ``run_dir/config.yaml`` and ``run_dir/generator.weights.h5`` atomically.

    ``generator`` is the cascade from ``build_cascade(cfg)`` (regime ``cascade``) or the block_128
    generator (regime ``progan``).  Returns the weights path.
    """
    run_dir = Path(run_dir)
    if cfg.train.regime == "progan" and generator.name != f"block_{cfg.model.resolutions[-1]}":
        raise RunDirError(f"{run_dir}: regime progan stores block_{cfg.model.resolutions[-1]}, "
                          f"got model {generator.name!r}")
    atomic_write_text(run_dir / CONFIG_NAME, cfg.to_yaml())
    return atomic_save_weights(generator, run_dir / GENERATOR_NAME)


def load_run_dir(run_dir: str | Path, weights: str | Path | None = None) -> tuple[keras.Model, Config]:
    """(inference model, config) of a training run directory: ``config.yaml`` rebuilds the generator,
    ``weights`` (default ``run_dir/generator.weights.h5``, or e.g. an epoch snapshot) is checked against
    its architecture and loaded."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / CONFIG_NAME
    if not cfg_path.is_file():
        raise RunDirError(f"{cfg_path}: no config.yaml in the run directory (was it written by train.py?)")
    cfg = load_config(cfg_path)
    wpath = Path(weights) if weights is not None else run_dir / GENERATOR_NAME
    if not wpath.is_file():
        raise RunDirError(f"{wpath}: generator weights file not found")
    generator = build_generator(cfg)
    check_weights_file(wpath, generator)
    try:
        generator.load_weights(str(wpath))
    except Exception as e:  # noqa: BLE001 - re-raised with the file name
        raise RunDirError(f"{wpath}: cannot load generator weights for config {cfg.name!r} "
                          f"(regime {cfg.train.regime}): {e}") from e
    return inference_model(generator, cfg), cfg
