"""fit() callbacks: NaN guard, atomic checkpoints, snapshots, sample grids, history and loss curves."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from .checkpoint import CHECKPOINT_FILE, TrainState, save_checkpoint
from ..store.run_dir import atomic_save_weights
from ..utils.image import grid, write_image
from .trainer import GANTrainer


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left untouched."""


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where (``diverged_at``)."""

    def __init__(self, state_fn: Callable[[], TrainState], keys: tuple[str, ...] = ("g_total", "d_total")):
        super().__init__()
        self.state_fn = state_fn
        self.keys = keys
        self.diverged_at: int | None = None
        self.bad_key: str | None = None

    def _check(self, logs: dict | None) -> None:
        if self.diverged_at is not None or not logs:
            return
        for k in self.keys:
            if k in logs and not math.isfinite(float(logs[k])):
                self.diverged_at = self.state_fn().global_step
                self.bad_key = k
                self.model.stop_training = True
                return

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._check(logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._check(logs)


class RunCallback(keras.callbacks.Callback):
    """Everything written to the run directory during fit().

    * every ``checkpoint_every`` generator steps and at each epoch end: the full training state
      (:func:`save_checkpoint`, atomic) and the generator (``on_checkpoint``);
    * at epoch ends in ``snapshot_epochs``: ``snapshots/epoch_XXX.weights.h5`` (generator weights);
    * every epoch end: a sample grid ``samples/epoch_XXX.png``, a line of ``history.jsonl`` and
      ``loss_curves.png``.

    Nothing is written once the :class:`NaNGuard` has fired, so the last good checkpoint survives.
    """

    def __init__(self, run_dir: Path, trainer: GANTrainer, state_fn: Callable[[], TrainState],
                 guard: NaNGuard, checkpoint_every: int, snapshot_epochs: tuple[int, ...],
                 on_checkpoint: Callable[[], None], sample_batch: dict | None, snapshot_model: keras.Model,
                 snapshot_suffix: str = "", write: bool = True):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.trainer = trainer
        self.state_fn = state_fn
        self.guard = guard
        self.checkpoint_every = int(checkpoint_every)
        self.snapshot_epochs = set(int(e) for e in snapshot_epochs)
        self.on_checkpoint = on_checkpoint
        self.sample_batch = sample_batch
        self.snapshot_model = snapshot_model
        self.snapshot_suffix = snapshot_suffix
        self.write = write

    def checkpoint(self) -> None:
        if self.guard.diverged_at is not None or not self.write:
            return
        state = self.state_fn()  # epoch = completed epochs, derived from the step counter
        save_checkpoint(self.run_dir / CHECKPOINT_FILE, self.trainer, state)
        self.on_checkpoint()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.checkpoint_every > 0 and self.state_fn().global_step % self.checkpoint_every == 0:
            self.checkpoint()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.guard.diverged_at is not None or not self.write:
            return
        self.checkpoint()
        number = epoch + 1  # epochs are counted from 1 in file names
        if number in self.snapshot_epochs:
            atomic_save_weights(self.snapshot_model, self.run_dir / "snapshots" /
                                f"epoch_{number:03d}{self.snapshot_suffix}.weights.h5")
        state = self.state_fn()
        record = {"epoch": number, "global_step": state.global_step, "stage": state.stage,
                  "time_utc": round(time.time(), 1), **{k: float(v) for k, v in (logs or {}).items()}}
        with open(self.run_dir / "history.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        plot_loss_curves(self.run_dir / "history.jsonl", self.run_dir / "loss_curves.png")
        if self.sample_batch is not None:
            save_sample_grid(self.trainer, self.sample_batch, self.run_dir / "samples" / f"epoch_{number:03d}.png")


def sample_grid(trainer: GANTrainer, batch: dict) -> np.ndarray:
    """Rows = images; columns = masked input | each block's output (nearest-upsampled to the top
    resolution, 128) | ground truth, uint8.  A style-noise generator gets the same noise (seed 0) every epoch."""
    outs = trainer.generator(trainer.generator_inputs(batch, seed=0), training=False)
    top = max(int(k.split("_")[1]) for k in batch if k.startswith("masked_"))
    cols = [np.asarray(batch[f"masked_{top}"])]
    cols += [np.asarray(outs[f"out_{r}"], dtype=np.float32) for r in trainer.resolutions]
    cols.append(np.asarray(batch[f"full_{top}"]))
    return grid([[c[i] for c in cols] for i in range(cols[0].shape[0])], size=top)


def save_sample_grid(trainer: GANTrainer, batch: dict, path: Path) -> Path:
    return write_image(path, sample_grid(trainer, batch))


def read_history(path: Path) -> list[dict[str, Any]]:
    if not Path(path).is_file():
        return []
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def plot_loss_curves(history_path: Path, out_path: Path) -> Path | None:
    """Generator/discriminator totals, their validation values and each block's pixel loss per epoch."""
    rows = read_history(history_path)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    epochs = [r["epoch"] for r in rows]
    for ax, keys, title in (
            (axes[0], ("g_total", "val_g_total"), "generator total (sum of Eq. 6 over blocks)"),
            (axes[1], ("d_total", "val_d_total"), "discriminator total (LSGAN)"),
            (axes[2], tuple(sorted({k for r in rows for k in r if k.endswith("_pixel") and not k.startswith("val_")},
                                   key=lambda k: int(k[1:].split("_")[0]))), "L_pixel per block")):
        for k in keys:
            xs = [e for e, r in zip(epochs, rows) if k in r]
            ys = [r[k] for r in rows if k in r]
            if xs:
                ax.plot(xs, ys, marker="o", ms=3, label=k)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out_path = Path(out_path)
    tmp = out_path.with_name(f".tmp-{out_path.name}")
    fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    tmp.replace(out_path)
    return out_path


PROGRESS_KEYS: tuple[str, ...] = ("g_total", "d_total", "b128_pixel", "b128_pc")


class ProgressLine(keras.callbacks.Callback):
    """A short progress bar: step counter, rate and a handful of losses (``keys``), not all ~32 trackers.

    Every tracked metric still goes to History, ``history.jsonl`` and TensorBoard.  ``mode="bar"``
    redraws one tqdm bar per epoch; ``mode="epoch"`` prints one line per epoch (logs, CI).
    """

    def __init__(self, steps_per_epoch: int, keys: tuple[str, ...] = PROGRESS_KEYS, mode: str = "bar"):
        super().__init__()
        self.steps = int(steps_per_epoch)
        self.keys = tuple(keys)
        self.mode = mode
        self._bar = None

    def _short(self, logs: dict | None) -> dict[str, str]:
        logs = logs or {}
        out = {}
        for k in self.keys:
            if k in logs:
                out[k] = f"{float(np.asarray(logs[k]).reshape(-1)[0]):.4g}"
        return out

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}", unit="step", dynamic_ncols=True,
                             leave=True)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if batch % 5 == 0 or batch + 1 == self.steps:
                self._bar.set_postfix(self._short(logs), refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        short = self._short(logs)
        val = self._short({k[4:]: v for k, v in (logs or {}).items() if k.startswith("val_")})
        if self._bar is not None:
            self._bar.set_postfix(short, refresh=True)
            self._bar.close()
            self._bar = None
        if self.mode == "epoch" or val:
            text = " ".join(f"{k}={v}" for k, v in short.items())
            vtext = " ".join(f"val_{k}={v}" for k, v in val.items())
            print(f"epoch {epoch + 1}: {text}" + (f" | {vtext}" if vtext else ""), flush=True)
