"""Run directories: the resolved config and the generator weights, written atomically.

Layout written by training (see ``docs/training.md``)::

    RUN_DIR/config.yaml                 resolved Config (every field)
    RUN_DIR/generator.weights.h5        generator weights (cascade, or block_128 for progan)
    RUN_DIR/checkpoint/                 full training state (resume)
    RUN_DIR/snapshots/epoch_XXX.weights.h5
    RUN_DIR/samples/epoch_XXX.png, RUN_DIR/loss_curves.png, RUN_DIR/history.csv, RUN_DIR/tb/

:func:`save_generator` / :func:`load_generator` are the contract used by inference and evaluation.
"""
from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

from ..config import Config, load_config
from ..models import FaceComposite, build_cascade, build_generator_block, build_inference_model
from ..models.generator import MaskFromMasked
from ..utils.atomic import atomic_path, atomic_write_text  # noqa: F401 - atomic_write_text re-exported

CONFIG_NAME = "config.yaml"
GENERATOR_NAME = "generator.weights.h5"


class RunDirError(RuntimeError):
    """A run directory that cannot be read (missing config or weights, wrong architecture)."""


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


def build_generator(cfg: Config) -> keras.Model:
    """The generator whose weights a run directory stores: the cascade, or block_128 for progan."""
    if cfg.train.regime == "progan":
        return build_generator_block(cfg.model.resolutions[-1], cfg)
    return build_cascade(cfg)


def build_progan_inference_model(block: keras.Model, cfg: Config,
                                 name: str = "facehalluc_progan_inference") -> keras.Model:
    """block_128 alone, then face compositing at 128 (mask = pixels with any non-zero channel)."""
    top = cfg.model.resolutions[-1]
    masked = keras.Input((top, top, 3), name="masked")
    mask = MaskFromMasked(name="mask_from_masked")(masked)
    x = masked
    if cfg.model.mask_injection == "concat":
        x = layers.Concatenate(name="inject_mask")([masked, masked])
    raw = block(x)
    out = FaceComposite(cfg.model.mask_threshold, name="face_composite")([mask, masked, raw])
    out = layers.Identity(name=f"out_{top}")(out)
    return keras.Model(masked, {f"out_{top}": out}, name=name)


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


def load_generator(run_dir: str | Path, weights: str | Path | None = None) -> tuple[keras.Model, Config]:
    """Rebuilds the generator from ``run_dir/config.yaml``, loads its weights, returns the inference model.

    ``weights`` defaults to ``run_dir/generator.weights.h5`` (pass e.g. an epoch snapshot instead).
    ``run_dir`` may also be ``"default"`` (the shipped model) or a folder written by
    ``facehalluc.pretrained.pack`` (float16 weights, sha256-checked).
    The returned model takes (N, 128, 128, 3) masked faces in [0, 1] and returns a dict with
    ``out_128`` (and every ``out_r`` for the cascade regime).
    """
    from ..pretrained import is_packed_dir, load_packed_generator, resolve_model

    run_dir = resolve_model(run_dir) if isinstance(run_dir, str) else Path(run_dir)  # "default": shipped
    if is_packed_dir(run_dir):  # the shipped model's folder (or another pack()ed one): fp16 npz + sha256
        if weights is not None:
            raise RunDirError(f"{run_dir}: a packed model folder has one weights file; --weights does not apply")
        return load_packed_generator(run_dir)
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
    if cfg.train.regime == "progan":
        return build_progan_inference_model(generator, cfg), cfg
    return build_inference_model(generator, cfg, all_outputs=True), cfg
