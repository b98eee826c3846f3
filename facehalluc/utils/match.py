"""The match score: row-wise Pearson correlation of feature vectors (the paper's Eq. 7 summand).

One function, :func:`pearson_rows`, serves the evaluation metric (:func:`facehalluc.evaluate.metrics.
pearson_match_scores`, Eq. 7) and the recognition experiment's verification scores
(:func:`facehalluc.recognition.roc.pearson_scores`); :func:`pearson_pairs` is the same score for index pairs
into one feature matrix (``roc.pair_scores``: each row standardised once, not once per pair).  A constant row
(zero variance) has no defined correlation; what happens then is the caller's explicit choice:

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


def _check_on_constant(on_constant: str) -> None:
    if on_constant not in ("raise", "zero"):
        raise ValueError(f"on_constant must be 'raise' or 'zero', got {on_constant!r}")


def _refuse_constant(*standardized: np.ndarray) -> None:
    if any(np.any(~z.any(axis=1)) for z in standardized):
        raise ConstantRowError("match score: a feature vector is constant, Pearson correlation undefined")


def pearson_rows(a: np.ndarray, b: np.ndarray, on_constant: str = "raise") -> np.ndarray:
    """``out[i] = corr(a[i], b[i])`` over the D feature dimensions, (N, D) x (N, D) -> (N,) float64.

    ``on_constant``: ``"raise"`` or ``"zero"`` (module docstring)."""
    _check_on_constant(on_constant)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"match score: expected two (N, D) feature arrays of equal shape, "
                         f"got {a.shape} and {b.shape}")
    za, zb = standardize_rows(a), standardize_rows(b)
    if on_constant == "raise":
        _refuse_constant(za, zb)
    return np.einsum("nd,nd->n", za, zb)


def pearson_pairs(feats: np.ndarray, i: np.ndarray, j: np.ndarray, on_constant: str = "raise",
                  chunk: int = 1 << 18) -> np.ndarray:
    """``out[k] = corr(feats[i[k]], feats[j[k]])``: :func:`pearson_rows` of index pairs into one (N, D) matrix,
    -> (len(i),) float64, computed ``chunk`` pairs at a time.  ``on_constant`` as for :func:`pearson_rows`
    (``"raise"`` looks at the rows the pairs use)."""
    _check_on_constant(on_constant)
    z = standardize_rows(feats)
    i, j = np.asarray(i), np.asarray(j)
    if on_constant == "raise" and len(i):
        _refuse_constant(z[np.unique(np.concatenate([i, j]))])
    out = np.empty(len(i), np.float64)
    for s in range(0, len(i), chunk):
        out[s:s + chunk] = np.einsum("nd,nd->n", z[i[s:s + chunk]], z[j[s:s + chunk]])
    return out
