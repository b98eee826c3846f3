"""The training driver: builds everything, resumes, runs fit() per stage, writes the run directory.

:func:`train` is what ``train.py`` calls.  Data order is a deterministic function of
``cfg.train.seed``: the training stream is ``make_dataset(..., repeat=True, seed=seed + stage)``
and a resumed run continues it with ``.skip(steps already taken)``, so an interrupted and resumed
run sees exactly the batches an uninterrupted run sees.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from ..config import Config
from ..losses import LossNetworks, build_loss_networks, disable_missing_loss_terms
from ..models import build_cascade
from ..utils import fastpath
from .callbacks import NaNGuard, ProgressLine, RunCallback, TrainingDiverged, read_history
from .checkpoint import CHECKPOINT_FILE, TrainState, read_state, restore_checkpoint
from .distribute import (WorkerLost, broadcast_from_chief, check_same_setup, in_multi_worker, is_chief,
                         is_worker_failure, make_strategy, sync_variables_from_chief)
from .progan import grow_block
from ..store.run_dir import atomic_save_weights, atomic_write_text, save_generator
from ..store.spec import CONFIG_NAME, RunDirError
from .trainer import (GANTrainer, build_discriminators, build_stage_block, build_stage_generator,
                      make_optimizers)

log = logging.getLogger(__name__)


@dataclass
class DataSource:
    """Where batches come from.

    ``train(seed)`` returns an *infinite* deterministic stream of dict batches (``masked_r``,
    ``mask_r``, ``full_r``); ``val()`` a finite dataset or None.
    """

    train: Callable[[int], tf.data.Dataset]
    steps_per_epoch: int
    val: Callable[[], tf.data.Dataset] | None = None
    description: str = ""


def h5_source(path: str | Path, cfg: Config, with_index: bool = False) -> DataSource:
    """Batches from a prepared HDF5 file (``facehalluc.data.make_dataset``), train/val splits."""
    from ..data import count_examples, make_dataset

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: training data file not found (make it with data/prepare.py)")
    bs = cfg.train.batch_size
    n_train = count_examples(path, "train")
    if n_train < bs:
        raise ValueError(f"{path}: the train split has {n_train} examples, fewer than one batch of {bs}")
    n_val = count_examples(path, "val")

    def train(seed: int) -> tf.data.Dataset:
        return make_dataset(path, cfg, "train", repeat=True, shuffle=True, seed=seed, with_index=with_index)

    val = None
    if n_val > 0:
        vbs = min(bs, n_val)

        def val() -> tf.data.Dataset:  # noqa: F811
            return make_dataset(path, cfg, "val", batch_size=vbs, shuffle=False, mirror=False)

    return DataSource(train, n_train // bs, val, f"{path} ({n_train} train / {n_val} val)")


@dataclass
class TrainResult:
    run_dir: Path
    state: TrainState
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _stages(cfg: Config) -> list[tuple[int, ...]]:
    res = tuple(cfg.model.resolutions)
    return [res] if cfg.train.regime == "cascade" else [(r,) for r in res]


def _epochs_per_stage(cfg: Config) -> int:
    return cfg.train.epochs if cfg.train.regime == "cascade" else cfg.train.progan_epochs_per_stage


def _first_batch(ds: tf.data.Dataset, n: int = 4) -> dict[str, np.ndarray]:
    batch = next(iter(ds.take(1)))
    return {k: np.asarray(v)[:n] for k, v in batch.items()}


def _worker_lost(e: BaseException, step: int | None, ckpt: Path | None) -> WorkerLost:
    """One line for a peer's death: what failed, where training stands, and how to continue."""
    lines = [ln.strip() for ln in str(getattr(e, "message", "") or e).splitlines() if ln.strip()]
    i = next((i for i, ln in enumerate(lines) if "abort" in ln.lower() or " is down" in ln), 0)
    cause = " ".join(lines[i:i + 2]) if lines and lines[i].endswith(":") and i + 1 < len(lines) else \
        (lines[i] if lines else "")
    when = f"after global step {step}" if step is not None else "before the first step of this run"
    where = (f"the last checkpoint, {ckpt}, is at global step {read_state(ckpt).global_step}"
             if ckpt is not None and ckpt.is_file() else "they continue from the chief's last checkpoint")
    return WorkerLost(f"another worker died or became unreachable {when} ({type(e).__name__}: {cause[:200]}); "
                      f"restart every worker with --resume: {where}")


def _shard_batches(ds: tf.data.Dataset) -> tf.data.Dataset:
    """Multi-worker input: every worker builds the same global-batch stream; tf.distribute splits each
    global batch into per-replica slices and every worker keeps only its own (auto-shard policy DATA),
    so a step trains on exactly the global batch a single process would, each example once."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def _check_resume_config(run_dir: Path, cfg: Config) -> list[str]:
    """Raises when the model / loss / regime / batch differ from the run's saved config; returns the other
    differing ``train`` and ``data`` fields (the resume line warns about them)."""
    saved = run_dir / CONFIG_NAME
    if not saved.is_file():
        return []
    from ..config import load_config

    old = load_config(saved)
    for section in ("model", "loss"):
        if getattr(old, section) != getattr(cfg, section):
            raise RunDirError(f"{saved}: the run was started with another {section} config; resume with "
                              f"the same config (e.g. --config {saved})")
    if old.train.regime != cfg.train.regime or old.train.batch_size != cfg.train.batch_size:
        raise RunDirError(f"{saved}: train.regime / train.batch_size differ from the run being resumed")
    changed = []
    for section in ("train", "data"):
        a, b = dataclasses.asdict(getattr(old, section)), dataclasses.asdict(getattr(cfg, section))
        changed += [f"{section}.{k}: {a[k]!r} -> {b[k]!r}" for k in a
                    if a[k] != b.get(k) and k not in ("epochs", "progan_epochs_per_stage")]  # extending is normal
    return changed


def _record_command(run_dir: Path, resume: bool, init_from: str | None, start_step: int) -> None:
    """Appends this invocation to ``RUN_DIR/commands.jsonl`` (every command that made the run, resumes
    included; read by ``facehalluc.pretrained pack`` for the manifest's provenance)."""
    import json
    import os

    from ..utils.provenance import git_state, machine

    line = {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "argv": list(sys.argv),
            "cwd": os.getcwd(), "resume": resume, "init_from": init_from, "start_step": start_step,
            "git": git_state(), "machine": machine()["cpu"]}
    with open(run_dir / "commands.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def _optimizers(trainer: GANTrainer) -> dict[str, keras.optimizers.Optimizer]:
    return {k: getattr(o, "inner_optimizer", o) for k, o in (("g_lr", trainer.g_optimizer), ("d_lr", trainer.d_optimizer))}


def _apply_config_lr(trainer: GANTrainer, cfg: Config) -> dict[str, float]:
    """After a restore: the learning rates the checkpoint held, then the config's set in their place (the
    checkpoint stores Adam's learning-rate variable; a resumed run uses the rates it was started with)."""
    held = {}
    for key, opt in _optimizers(trainer).items():
        held[key] = float(keras.ops.convert_to_numpy(opt.learning_rate))
        if held[key] != np.float32(getattr(cfg.train, key)):
            opt.learning_rate.assign(getattr(cfg.train, key))
    return held


def resume_line(ckpt: Path, state: TrainState, trainer: GANTrainer, held: dict[str, float],
                changed: list[str]) -> str:
    """The one line ``--resume`` prints: checkpoint, step, epoch, the learning rates the optimizers now hold
    (and what the checkpoint held, where that differs), and any config change."""
    def lr(key: str) -> str:
        now = float(keras.ops.convert_to_numpy(_optimizers(trainer)[key].learning_rate))
        was = f" (checkpoint had {held[key]:.3g})" if held[key] != now else ""
        return f"{key} {now:.3g}{was}"

    line = (f"train: resumed from {ckpt} at global step {state.global_step} (epoch {state.epoch}, stage "
            f"{state.stage} step {state.stage_step}); {lr('g_lr')}, {lr('d_lr')}")
    if changed:
        line += "; WARNING: config differs from the run's saved one: " + "; ".join(changed)
    return line


def init_discriminators(trainer: GANTrainer, batch: Callable[[], dict[str, np.ndarray]]) -> None:
    """Data-dependent set-up of a fresh stage's discriminators that need it (the projected discriminator's
    feature scales, from the first training batch; restored from the checkpoint on resume); nothing for the
    paper's CASIA-Net discriminators."""
    from ..models.projected import calibrate, is_projected

    discs = {r: d for r, d in trainer.discriminators.items() if is_projected(d)}
    if discs:
        real = batch()
        for r, disc in discs.items():
            calibrate(disc, real[f"full_{r}"])


def train(cfg: Config, run_dir: str | Path, data: str | Path | DataSource, *, epochs: int | None = None,
          steps_per_epoch: int | None = None, resume: bool = False, verbose: int | str = "auto",
          nets: LossNetworks | None = None,
          extra_callbacks: list[keras.callbacks.Callback] | None = None,
          init_from: str | Path | None = None, run_eagerly: bool = False) -> TrainResult:
    """Trains ``cfg`` into ``run_dir`` (see docs/training.md for the layout).

    Args:
        cfg: resolved config; ``train.{regime, strategy, mixed_precision, xla}`` are honoured.
        data: an HDF5 file from data/prepare.py, or a :class:`DataSource`.
        epochs: overrides ``train.epochs`` (cascade) / ``train.progan_epochs_per_stage`` (progan).
        steps_per_epoch: generator updates per epoch (default: train examples // batch size).
        resume: continue from ``run_dir/checkpoint/state.h5`` (written atomically during training).
        nets: pre-built frozen loss networks (tests); default ``build_loss_networks(cfg)``.
        extra_callbacks: appended to the fit() callbacks of every stage.
        init_from: ``"default"``, a run directory or a packed folder: a fresh run starts its generator from
            those weights (discriminators and optimizers fresh; see :mod:`facehalluc.train.init_from`).
            Ignored when resuming (the checkpoint holds the generator).
        run_eagerly: compile the train step with ``run_eagerly=True`` (no graph tracing: faster for a
            handful of steps, slower per step; the demo's ``--eager``).  Default off.

    Raises:
        facehalluc.weights.MissingWeightsError: converted LPIPS / VGG-Face weights are missing and
            ``weights.allow_random`` is false (raised before anything is trained).
        TrainingDiverged: a loss became NaN/inf; the last good checkpoint is intact.
    """
    t0 = time.time()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train))
    if nets is None:
        cfg, switched_off = disable_missing_loss_terms(cfg)
        for line in switched_off:
            print(f"train: {line}", file=sys.stderr, flush=True)
    if epochs is not None:
        if cfg.train.regime == "cascade":
            cfg.train.epochs = int(epochs)
        else:
            cfg.train.progan_epochs_per_stage = int(epochs)
    run_dir = Path(run_dir)
    ckpt = run_dir / CHECKPOINT_FILE
    if ckpt.is_file() and not resume:
        raise RunDirError(f"{run_dir}: holds a training checkpoint; pass --resume to continue it or "
                          f"choose a new --out")
    changed: list[str] = []
    if resume:
        changed = _check_resume_config(run_dir, cfg)

    previous_policy = keras.mixed_precision.global_policy()
    policy, why = fastpath.precision_policy(cfg.train.mixed_precision, cfg.train.mixed_precision_dtype)
    if policy != "float32":
        keras.mixed_precision.set_global_policy(policy)
    progress: dict[str, Any] = {}  # last completed global step and the chief's checkpoint, for WorkerLost
    try:
        return _train(cfg, run_dir, data, steps_per_epoch, resume, verbose, nets, t0, extra_callbacks or [],
                      progress, init_from, changed, f"precision {policy} ({why})", run_eagerly)
    except Exception as e:  # noqa: BLE001 - a peer's death surfaces as an aborted / failed collective
        if cfg.train.strategy == "multiworker" and is_worker_failure(e) and not isinstance(e, WorkerLost):
            raise _worker_lost(e, progress.get("step"), progress.get("ckpt")) from e
        raise
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def xla_elementwise_line(cfg: Config, xla_on: bool) -> str:
    """The start-up line on element-wise XLA clusters: what the config asks for, and what TF_XLA_FLAGS gave
    TensorFlow when it started (train.py sets it from the config before that; library callers set it themselves)."""
    want = fastpath.train_xla_elementwise(cfg.train.xla_elementwise, xla_on, width_divisor=cfg.model.width_divisor)
    active = fastpath.xla_elementwise_active()
    if want.on and not active:
        return (f"element-wise XLA clusters: off ({want.reason}; but TensorFlow started without them: train.py sets "
                f"TF_XLA_FLAGS before TensorFlow starts, library callers set it themselves)")
    if active and not want.on:
        return f"element-wise XLA clusters: on (TF_XLA_FLAGS={os.environ['TF_XLA_FLAGS']!r}; {want.reason})"
    return want.line("element-wise XLA clusters")


def _train(cfg: Config, run_dir: Path, data: str | Path | DataSource, steps_per_epoch: int | None,
           resume: bool, verbose: int | str, nets: LossNetworks | None, t0: float,
           extra_callbacks: list[keras.callbacks.Callback], progress: dict[str, Any],
           init_from: str | Path | None = None, changed: list[str] | None = None,
           precision: str = "", run_eagerly: bool = False) -> TrainResult:
    strategy = make_strategy(cfg.train.strategy, cfg.train.cluster_join_timeout_s)
    xla = fastpath.train_xla(cfg.train.xla, width_divisor=cfg.model.width_divisor)
    use_xla = xla.on
    chief = is_chief(strategy)  # only the chief reads or writes run_dir (see distribute.py)
    multi = in_multi_worker(strategy)
    replicas = strategy.num_replicas_in_sync
    if cfg.train.batch_size % replicas:
        raise ValueError(f"train.batch_size={cfg.train.batch_size} (the global batch) must be divisible by the "
                         f"{replicas} replicas")
    with strategy.scope():
        # Fails fast (MissingWeightsError) before any file is written or any step is run.
        nets = nets if nets is not None else build_loss_networks(cfg)
    fastpath.log(f"{xla.line('XLA train step')}; {precision}")  # after the fail-fast weights check
    fastpath.log(xla_elementwise_line(cfg, xla.on))
    conv_matmul = fastpath.train_xla_conv_matmul(cfg.train.xla_conv_matmul, use_xla and not run_eagerly,
                                                 width_divisor=cfg.model.width_divisor)
    fastpath.log(conv_matmul.line("small convolutions as matrix products"))
    source = data if isinstance(data, DataSource) else h5_source(data, cfg)
    S = int(steps_per_epoch or source.steps_per_epoch)
    if S < 1:
        raise ValueError("steps_per_epoch must be >= 1")
    check_same_setup(strategy, chief, f"{cfg.model}|{cfg.loss}|{cfg.train}|{cfg.data}|{S}|{resume}")
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / CONFIG_NAME, cfg.to_yaml())

    ckpt = run_dir / CHECKPOINT_FILE
    saved = read_state(ckpt) if (chief and resume and ckpt.is_file()) else None
    if chief:
        _record_command(run_dir, resume, None if init_from is None else str(init_from),
                        saved.global_step if saved is not None else 0)
    if multi:  # the other workers resume where the chief's checkpoint says
        found, *numbers = broadcast_from_chief(strategy, chief, [np.array(
            [saved is not None, *(dataclasses.astuple(saved)[:4] if saved else (0, 0, 0, 0))], np.int64)])[0]
        saved = TrainState(*(int(n) for n in numbers), config_name=cfg.name) if found else None
    state = TrainState(config_name=cfg.name)
    E = _epochs_per_stage(cfg)
    stages = _stages(cfg)
    val_ds = source.val() if source.val is not None else None
    if val_ds is not None and cfg.train.val_steps > 0:
        val_ds = val_ds.take(cfg.train.val_steps)
    if val_ds is not None and multi:
        val_ds = _shard_batches(val_ds)
    sample = _first_batch(val_ds if val_ds is not None else source.train(cfg.train.seed))
    prev_block: keras.Model | None = None
    trainer: GANTrainer | None = None

    for s, stage_res in enumerate(stages):
        if saved is not None and saved.stage > s:
            continue
        keras.utils.set_random_seed(cfg.train.seed + s)
        with strategy.scope():
            if cfg.train.regime == "cascade":
                generator = build_cascade(cfg)
                block = generator
            else:
                r = stage_res[0]
                block = build_stage_block(r, cfg)
                if prev_block is not None:
                    copied = grow_block(block, prev_block)
                    log.info("stage block_%d: copied %d layers from block_%d: %s", r, len(copied), r // 2, copied)
                generator = build_stage_generator(block, r, cfg)
            discs = build_discriminators(stage_res, cfg)
            if (cfg.train.regime == "progan" and cfg.train.progan_copy_discriminator and prev_block is not None
                    and trainer is not None and trainer.disc_list):
                for a, b in zip(trainer.disc_list[0].weights, discs[stage_res[0]].weights):
                    b.assign(a)
            trainer = GANTrainer(generator, discs, cfg, nets, name=f"gan_stage_{s}")
            trainer.compile(*make_optimizers(cfg), jit_compile=use_xla and not run_eagerly,
                            conv_matmul=conv_matmul.on, run_eagerly=run_eagerly)
            trainer.build_optimizers()
            if saved is not None and saved.stage == s:
                state = restore_checkpoint(ckpt, trainer) if chief else saved
                sync_variables_from_chief(strategy, chief, [*trainer.generator.variables, *trainer.d_variables,
                                                            *trainer.g_optimizer.variables,
                                                            *trainer.d_optimizer.variables])
                held = _apply_config_lr(trainer, cfg)
                if chief:
                    print(resume_line(ckpt, state, trainer, held, changed or []), file=sys.stderr, flush=True)
            else:
                if init_from is not None and s == 0 and saved is None:
                    from .init_from import init_generator

                    rec = init_generator(generator, cfg, init_from, run_dir if chief else None)
                    print(f"train: generator initialised from {rec['init_from']} ({rec['kind']}, "
                          f"{rec['variables']} variables, sha256 {str(rec['sha256'])[:12]}…); discriminators "
                          f"and optimizers fresh", file=sys.stderr, flush=True)
                init_discriminators(trainer, lambda: _first_batch(source.train(cfg.train.seed), n=64))
                state = TrainState(global_step=state.global_step, epoch=s * E, stage=s, stage_step=0,
                                   config_name=cfg.name)
        stage_start = state.global_step - state.stage_step
        e_begin, e_end = s * E, (s + 1) * E
        final_stage = s == len(stages) - 1
        tr = trainer

        def live_state(tr: GANTrainer = tr, s: int = s, stage_start: int = stage_start,
                       e_begin: int = e_begin) -> TrainState:
            k = int(tr.g_optimizer.iterations.numpy())
            return TrainState(global_step=stage_start + k, epoch=e_begin + k // S, stage=s, stage_step=k,
                              config_name=cfg.name)

        def on_checkpoint(block: keras.Model = block, final_stage: bool = final_stage,
                          r: int = stage_res[-1]) -> None:
            if final_stage:
                save_generator(run_dir, cfg, block)
            else:
                atomic_save_weights(block, run_dir / "stages" / f"block_{r}.weights.h5")

        guard = NaNGuard(live_state)
        suffix = "" if cfg.train.regime == "cascade" else f"_block_{stage_res[0]}"
        run_cb = RunCallback(run_dir, tr, live_state, guard, cfg.train.checkpoint_every_steps,
                             cfg.train.snapshot_epochs, on_checkpoint if chief else (lambda: None),
                             sample if chief else None, block, suffix, write=chief)
        callbacks: list[keras.callbacks.Callback] = [guard, run_cb, *extra_callbacks]
        if multi:
            progress["ckpt"] = ckpt if chief else None
            callbacks.append(keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda b, logs, f=live_state: progress.update(step=f().global_step)))
        if verbose in (1, 2, "auto") and chief:
            callbacks.append(fastpath.FirstStepTimer(use_xla))
            callbacks.append(ProgressLine(S, mode="epoch" if verbose == 2 else "bar"))
        if chief and importlib.util.find_spec("tensorboard") is not None:
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tb"), update_freq="epoch",
                                                         write_graph=False))

        k = live_state().stage_step
        e_cur = e_begin + k // S
        off = k % S
        segments = []
        if off and e_cur < e_end:
            segments.append((e_cur, e_cur + 1, S - off))
            e_cur += 1
        if e_cur < e_end:
            segments.append((e_cur, e_end, S))
        for first, last, steps in segments:
            skip = live_state().stage_step
            stream = source.train(cfg.train.seed + s).skip(skip)
            if multi:
                stream = _shard_batches(stream)
            tr.fit(stream, initial_epoch=first, epochs=last, steps_per_epoch=steps, callbacks=callbacks,
                   validation_data=val_ds, verbose=0, shuffle=False)  # tf.data is shuffled already
            if guard.diverged_at is not None:
                raise TrainingDiverged(
                    f"{guard.bad_key} became NaN/inf at global step {guard.diverged_at}; training stopped. "
                    f"The last good checkpoint ({ckpt}) is intact: lower train.g_lr/d_lr or try "
                    f"--mixed-precision off, then --resume")
        state = live_state()
        if chief and segments:
            run_cb.checkpoint()
        prev_block = block
    if chief and trainer is not None:
        save_generator(run_dir, cfg, prev_block if cfg.train.regime == "progan" else trainer.generator)
    return TrainResult(run_dir, state, read_history(run_dir / "history.jsonl"), time.time() - t0)
