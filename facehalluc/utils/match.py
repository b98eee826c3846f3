"""The match score: row-wise Pearson correlation of feature vectors (the paper's Eq. 7 summand).

One function, :func:`pearson_rows`, serves the evaluation metric (:func:`facehalluc.evaluate.metrics.
pearson_match_scores`, Eq. 7) and the recognition experiment's verification scores
(:func:`facehalluc.recognition.roc.pearson_scores` / ``pair_scores``).  A constant row (zero variance) has
no defined correlation; what happens then is the caller's explicit choice:

* ``on_constant="raise"`` (Eq. 7): a constant identity descriptor means a broken network or input, so the
  metric refuses to average it in (:class:`ConstantRowError`, a ``ValueError``);
* ``on_constant="zero"`` (ROC scoring): every pair needs a score, and a constant row carries no evidence,
  so it scores 0 against everything.
"""
from __future__ import annotations

import numpy as np


class ConstantRowError(ValueError):
    """A feature vector with zero variance met ``on_constant="raise"``."""


def standardize_rows(x: np.ndarray) -> np.ndarray:
    """(N, D) -> float64 rows with mean 0 and unit L2 norm (constant rows stay all-zero)."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {x.shape}")
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def pearson_rows(a: np.ndarray, b: np.ndarray, on_constant: str = "raise") -> np.ndarray:
    """``out[i] = corr(a[i], b[i])`` over the D feature dimensions, (N, D) x (N, D) -> (N,) float64.

    ``on_constant``: ``"raise"`` or ``"zero"`` (module docstring)."""
    if on_constant not in ("raise", "zero"):
        raise ValueError(f"on_constant must be 'raise' or 'zero', got {on_constant!r}")
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"match score: expected two (N, D) feature arrays of equal shape, "
                         f"got {a.shape} and {b.shape}")
    za, zb = standardize_rows(a), standardize_rows(b)
    if on_constant == "raise" and (np.any(~za.any(axis=1)) or np.any(~zb.any(axis=1))):
        raise ConstantRowError("match score: a feature vector is constant, Pearson correlation undefined")
    return np.einsum("nd,nd->n", za, zb)
