"""Prepared face datasets: the HDF5 schema, the tf.data pipeline, synthetic data and the preparer.

``make_dataset`` and ``write_synthetic_dataset`` are the contract with training, inference and
evaluation (see ``docs/preprocessing.md``).  TensorFlow is imported lazily by ``make_dataset``.
"""
from .dataset import make_dataset
from .schema import (FORMAT_VERSION, SPLIT_CODES, TEST, TRAIN, VAL, DatasetFormatError, FaceArrays,
                     NoTestSplitError, check_file, count_examples, read_arrays, write_h5)
from .split import add_test_split, assign_splits, hash_unit, identity_lists, split_of
from .synthetic import synthetic_arrays, write_synthetic_dataset

__all__ = [
    "make_dataset", "count_examples", "write_synthetic_dataset", "synthetic_arrays", "check_file",
    "read_arrays", "write_h5", "FaceArrays", "DatasetFormatError", "FORMAT_VERSION", "SPLIT_CODES",
    "TRAIN", "VAL", "TEST", "NoTestSplitError", "assign_splits", "split_of", "hash_unit", "add_test_split",
    "identity_lists",
]
