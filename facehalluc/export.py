"""Moved to :mod:`facehalluc.store.export` (SavedModel export); this module keeps the old import path."""
from .store.export import *  # noqa: F401,F403
from .store.export import EXPORT_FORMAT_VERSION, ExportError, as_inference_model, find_cascade  # noqa: F401
from .store.export import inference_fns  # noqa: F401
from .store.spec import is_savedmodel_dir  # noqa: F401
