"""Moved to :mod:`facehalluc.store` (run directories: :mod:`facehalluc.store.run_dir`; loading any stored
generator: :func:`facehalluc.store.load_generator`).  This module keeps the old import path for external code."""
from ..store.build import build_generator, build_progan_inference_model  # noqa: F401
from ..store.open import load_generator  # noqa: F401
from ..store.run_dir import (atomic_path, atomic_save_weights, atomic_write_text,  # noqa: F401
                             check_weights_file, load_run_dir, save_generator)
from ..store.spec import CONFIG_NAME, GENERATOR_NAME, RunDirError  # noqa: F401
