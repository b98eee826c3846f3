"""Training: run directories (save/load of generators), the GAN trainer, the fit() driver.

``save_generator`` / ``load_generator`` (run_dir.py) are the contract with inference and evaluation;
``train`` (run.py) is what ``train.py`` calls; ``GANTrainer`` (trainer.py) holds the train step.
"""
from .run_dir import (RunDirError, atomic_save_weights, atomic_write_text, build_generator,
                      build_progan_inference_model, check_weights_file, load_generator, save_generator)
from .trainer import GANTrainer, build_discriminators, make_optimizers, metric_names
from .callbacks import TrainingDiverged
from .run import DataSource, TrainResult, h5_source, train

__all__ = ["RunDirError", "atomic_save_weights", "atomic_write_text", "build_generator",
           "build_progan_inference_model", "check_weights_file", "load_generator", "save_generator",
           "GANTrainer", "build_discriminators", "make_optimizers", "metric_names", "TrainingDiverged",
           "DataSource", "TrainResult", "h5_source", "train"]
