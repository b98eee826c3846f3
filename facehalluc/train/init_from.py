"""Warm start: ``train.py --init-from default|RUN_DIR|PACKED_DIR`` (regression first, adversarial after).

The generator of a new run starts from the weights of a trained one; the discriminators, both optimizers and
the step counter start fresh.  The source must have the same generator architecture (``model`` section, except
the discriminator-only fields) and the ``cascade`` regime.  What was loaded is written to
``RUN_DIR/init_from.json`` (source, resolved path, sha256 of the weights file, the source's own training
record), so training time accumulates visibly across runs.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ..config import Config, load_config
from ..utils.atomic import atomic_write_text
from ..store.build import build_generator
from ..store.run_dir import check_weights_file
from ..store.spec import CONFIG_NAME, GENERATOR_NAME, RunDirError

INIT_RECORD = "init_from.json"
#: ModelConfig fields that only shape the discriminators: they may differ between source and new run
DISCRIMINATOR_FIELDS = frozenset({"d_leaky_slope", "d_kernel_init", "d_downsample", "d_min_size", "d_output",
                                  "pd_layers", "pd_proj_channels", "pd_head_channels"})
#: ModelConfig fields of the style-noise input: a source without noise may start a run with noise
NOISE_FIELDS = frozenset({"noise_channels", "noise_resolutions", "noise_init_std"})


def _generator_fields(cfg: Config) -> dict[str, Any]:
    skip = DISCRIMINATOR_FIELDS | (NOISE_FIELDS if not cfg.model.noise_channels else frozenset())
    return {k: v for k, v in dataclasses.asdict(cfg.model).items() if k not in skip}


def widen_for_noise(arrays: dict[str, np.ndarray], generator: keras.Model, init_std: float = 0.0,
                    seed: int = 0) -> tuple[dict[str, np.ndarray], list]:
    """A noise-free source's arrays for a generator with style-noise inputs: each kernel whose input-channel
    axis grew (the first conv of a block in ``model.noise_resolutions``) gets weights for the new noise
    channels: zero (``init_std=0``, ``model.noise_init_std``), so the warm-started generator computes exactly
    the source's function until training moves them, or normal with s.d. ``init_std`` x the RMS of the
    kernel's existing weights (the noise changes the output from step 0)."""
    rng = np.random.default_rng(seed)
    out = dict(arrays)
    widened = []
    for v in generator.weights:
        a = arrays.get(v.path)
        want = tuple(v.shape)
        if a is None or a.shape == want:
            continue
        if a.ndim == 4 and a.shape[:2] == want[:2] and a.shape[3] == want[3] and a.shape[2] < want[2]:
            shape = want[:2] + (want[2] - a.shape[2], want[3])
            pad = np.zeros(shape, a.dtype) if not init_std else \
                (rng.standard_normal(shape) * init_std * np.sqrt(np.mean(np.square(a)))).astype(a.dtype)
            out[v.path] = np.concatenate([a, pad], axis=2)
            widened.append(v.path)
    return out, widened


def source_arrays(spec: str | Path) -> tuple[dict[str, np.ndarray], Config, dict[str, Any]]:
    """(generator arrays keyed by variable path, source config, record) for ``--init-from`` ``spec``."""
    from ..store.packed import read_packed_arrays
    from ..store.spec import WEIGHTS_NAME, is_packed_dir, resolve_model
    from ..weights import sha256_file

    path = resolve_model(str(spec))
    if is_packed_dir(path):
        stored, cfg, manifest = read_packed_arrays(path)
        wfile = path / manifest.get("weights", WEIGHTS_NAME)
        record = {"kind": "packed", "sha256": manifest.get("sha256"),
                  "source_provenance": manifest.get("provenance", {})}
        return {k: v.astype(np.float32) for k, v in stored.items()}, cfg, {**record, "weights": str(wfile)}
    cfg_path = path / CONFIG_NAME
    wpath = path / GENERATOR_NAME
    if not cfg_path.is_file() or not wpath.is_file():
        raise RunDirError(f"--init-from {spec}: {path} is neither 'default', a packed model folder nor a run "
                          f"directory with {CONFIG_NAME} and {GENERATOR_NAME}")
    cfg = load_config(cfg_path)
    gen = build_generator(cfg)
    check_weights_file(wpath, gen)
    gen.load_weights(str(wpath))
    arrays = {v.path: np.asarray(keras.ops.convert_to_numpy(v.value)) for v in gen.weights}
    record: dict[str, Any] = {"kind": "run_dir", "sha256": sha256_file(wpath), "weights": str(wpath)}
    state = path / "checkpoint" / "state.h5"
    hist = path / "history.jsonl"
    if hist.is_file():
        lines = [ln for ln in hist.read_text(encoding="utf-8").splitlines() if ln.strip()]
        if lines:
            last = json.loads(lines[-1])
            record["source_last_epoch"] = {k: last[k] for k in ("epoch", "global_step", "time_utc") if k in last}
    if state.is_file():
        from .checkpoint import read_state

        record["source_state"] = dataclasses.asdict(read_state(state))
    return arrays, cfg, record


def init_generator(generator: keras.Model, cfg: Config, spec: str | Path, run_dir: str | Path | None) -> dict:
    """Loads the generator weights of ``spec`` into ``generator`` (built from ``cfg``); writes the record.

    Raises :class:`RunDirError` when the source's generator differs from ``cfg``'s (naming the fields) or the
    regime is not ``cascade``.
    """
    from ..store.packed import assign_arrays

    if cfg.train.regime != "cascade":
        raise RunDirError("--init-from needs train.regime=cascade (ProGAN stages grow their own blocks)")
    arrays, src_cfg, record = source_arrays(spec)
    if src_cfg.train.regime != "cascade":
        raise RunDirError(f"--init-from {spec}: the source was trained with regime {src_cfg.train.regime!r}; "
                          f"only cascade generators can be continued")
    a, b = _generator_fields(src_cfg), _generator_fields(cfg)
    diff = sorted(k for k in a if a[k] != b.get(k))
    if diff:
        raise RunDirError(f"--init-from {spec}: its generator differs from config {cfg.name!r} in model."
                          + ", model.".join(diff) + f" ({', '.join(f'{a[k]!r} vs {b[k]!r}' for k in diff)})")
    widened: list = []
    if cfg.model.noise_channels and not src_cfg.model.noise_channels:
        arrays, widened = widen_for_noise(arrays, generator, cfg.model.noise_init_std, cfg.train.seed)
    assign_arrays(generator, arrays, record["weights"])
    record = {"init_from": str(spec), "source_config": src_cfg.name, "variables": len(arrays), **record}
    if widened:
        record["noise_widened"] = widened
    if run_dir is not None:
        atomic_write_text(Path(run_dir) / INIT_RECORD, json.dumps(record, indent=2, default=str) + "\n")
    return record
