"""``python -m facehalluc.pretrained`` (info / verify / pack; see ``__main__.py``).

The packed format and the shipped generator moved to :mod:`facehalluc.store` (``facehalluc/store/shipped/``,
:mod:`facehalluc.store.packed`, :func:`facehalluc.store.spec.resolve_model`); the names below keep the old
import path working for external code.  The package itself imports them from :mod:`facehalluc.store`.
"""
from ..store.packed import (assign_arrays, load_packed_generator, pack, read_manifest,  # noqa: F401
                            read_packed_arrays, read_train_median)
from ..store.spec import (CONFIG_NAME, DEFAULT_NAME, FORMAT, MANIFEST_NAME, MEDIAN_NAME,  # noqa: F401
                          WEIGHTS_NAME, ShippedModelError, is_packed_dir, resolve_model, shipped_dir)

__all__ = ["DEFAULT_NAME", "ShippedModelError", "shipped_dir", "is_packed_dir", "resolve_model",
           "read_manifest", "read_train_median", "read_packed_arrays", "assign_arrays", "load_packed_generator",
           "pack"]
