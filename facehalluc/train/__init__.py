"""Training: run directories (save/load of generators), the GAN trainer, the fit() driver.

``save_generator`` / ``load_generator`` are re-exported from :mod:`facehalluc.store` (their home), where
inference and evaluation read them;
``train`` (run.py) is what ``train.py`` calls; ``GANTrainer`` (trainer.py) holds the train step.
"""
from __future__ import annotations

import importlib

#: public name -> the module that defines it, imported on first use: ``train.py`` imports ``facehalluc.train.cli``
#: before TensorFlow starts, and the CLI sets ``TF_XLA_FLAGS`` from the config (``train.xla_elementwise``) first
_EXPORTS = {
    "build_generator": "..store.build", "build_progan_inference_model": "..store.build",
    "load_generator": "..store.open", "RunDirError": "..store.spec",
    "atomic_save_weights": "..store.run_dir", "atomic_write_text": "..store.run_dir",
    "check_weights_file": "..store.run_dir", "save_generator": "..store.run_dir",
    "GANTrainer": ".trainer", "build_discriminators": ".trainer", "make_optimizers": ".trainer",
    "metric_names": ".trainer", "TrainingDiverged": ".callbacks",
    "DataSource": ".run", "TrainResult": ".run", "h5_source": ".run", "train": ".run",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
