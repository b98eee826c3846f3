"""Runs one of our generators on a prepared dataset and writes (original, hallucinated) PNG pairs to score.

``model`` is either a training run directory (``config.yaml`` + ``generator.weights.h5``; loaded with
``facehalluc.train.load_generator``) or a SavedModel folder exported by the inference area, whose
``serving_default`` signature takes ``masked`` float32 (N, 128, 128, 3) in [0, 1] and returns ``out_128``.
Originals are the dataset's ``/aligned`` faces, inputs its ``/masked`` faces, both 128x128.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from facehalluc.evaluate.images import save_image


class ModelLoadError(ValueError):
    """The --model path is neither a run directory nor a SavedModel with the expected signature."""


Predictor = Callable[[np.ndarray], np.ndarray]


def load_predictor(model_path: str | Path) -> tuple[Predictor, str]:
    """A function masked float32 (N,128,128,3) -> out_128 (N,128,128,3), and a short description."""
    path = Path(model_path)
    if (path / "config.yaml").is_file():
        from facehalluc.train import load_generator

        model, cfg = load_generator(path)

        def run_keras(x: np.ndarray) -> np.ndarray:
            return np.asarray(model(x, training=False)["out_128"])

        return run_keras, f"run directory {path} (config {cfg.name}, regime {cfg.train.regime})"
    if (path / "saved_model.pb").is_file():
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        if "serving_default" not in loaded.signatures:
            raise ModelLoadError(f"{path}: SavedModel has no 'serving_default' signature")
        fn = loaded.signatures["serving_default"]

        def run_saved(x: np.ndarray) -> np.ndarray:
            out = fn(masked=tf.constant(x, tf.float32))
            if "out_128" not in out:
                raise ModelLoadError(f"{path}: serving_default returns {sorted(out)}, expected 'out_128'")
            return out["out_128"].numpy()

        return run_saved, f"SavedModel {path}"
    raise ModelLoadError(f"{path}: neither a run directory (no config.yaml) nor a SavedModel "
                         f"(no saved_model.pb)")


def generate_pairs(model_path: str | Path, data_h5: str | Path, split: str, work_dir: str | Path,
                   batch_size: int = 16, limit: int | None = None,
                   progress: bool = True) -> tuple[Path, Path, str]:
    """Writes ``work_dir/real/<i>.png`` (aligned) and ``work_dir/fake/<i>.png`` (out_128); returns both dirs."""
    from tqdm import tqdm

    from facehalluc.data import read_arrays

    predict, desc = load_predictor(model_path)
    arrays = read_arrays(data_h5, split)
    n = len(arrays.aligned) if limit is None else min(limit, len(arrays.aligned))
    if n == 0:
        raise ValueError(f"{data_h5}: split {split!r} holds no faces")
    work = Path(work_dir)
    real_dir, fake_dir = work / "real", work / "fake"
    width = len(str(n - 1))
    for i in tqdm(range(0, n, batch_size), desc="generating", disable=not progress, unit="batch"):
        masked = arrays.masked[i:min(i + batch_size, n)].astype(np.float32) / np.float32(255.0)
        out = predict(masked)
        for j in range(len(masked)):
            idx = i + j
            name = f"{idx:0{width}d}"
            save_image(arrays.aligned[idx], real_dir / f"{name}.png")
            save_image(np.clip(out[j], 0.0, 1.0), fake_dir / f"{name}.png")
    return real_dir, fake_dir, desc
