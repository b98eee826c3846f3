"""Training: run directories (save/load of generators), the GAN trainer, the fit() driver.

``save_generator`` / ``load_generator`` are re-exported from :mod:`facehalluc.store` (their home), where
inference and evaluation read them;
``train`` (run.py) is what ``train.py`` calls; ``GANTrainer`` (trainer.py) holds the train step.
"""
from ..store.build import build_generator, build_progan_inference_model
from ..store.open import load_generator
from ..store.run_dir import atomic_save_weights, atomic_write_text, check_weights_file, save_generator
from ..store.spec import RunDirError
from .trainer import GANTrainer, build_discriminators, make_optimizers, metric_names
from .callbacks import TrainingDiverged
from .run import DataSource, TrainResult, h5_source, train

__all__ = ["RunDirError", "atomic_save_weights", "atomic_write_text", "build_generator",
           "build_progan_inference_model", "check_weights_file", "load_generator", "save_generator",
           "GANTrainer", "build_discriminators", "make_optimizers", "metric_names", "TrainingDiverged",
           "DataSource", "TrainResult", "h5_source", "train"]
