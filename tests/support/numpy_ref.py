"""Float64 numpy references for the metric-network ports' tests: convolution, batch norm, pools, written out
from their definitions (cross-correlation, zero padding; no framework code)."""
from __future__ import annotations

import numpy as np


def conv(x: np.ndarray, w_oihw: np.ndarray, stride: int = 1, pad: tuple[int, int] = (0, 0)) -> np.ndarray:
    """(H, W, C) * (O, C, kh, kw) -> (H', W', O): cross-correlation with ``pad`` zero rows / columns on
    each side, in float64."""
    x = np.pad(np.asarray(x, np.float64), ((pad[0], pad[0]), (pad[1], pad[1]), (0, 0)))
    kh, kw = w_oihw.shape[2:]
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(0, 1))[::stride, ::stride]
    return np.einsum("ijchw,ochw->ijo", patches, np.asarray(w_oihw, np.float64), optimize=True)


def batch_norm(y: np.ndarray, gamma, beta, mean, var, eps: float) -> np.ndarray:
    """Inference batch norm: (y - mean) / sqrt(var + eps) * gamma + beta, float64."""
    f = lambda a: np.asarray(a, np.float64)  # noqa: E731
    return (y - f(mean)) / np.sqrt(f(var) + eps) * f(gamma) + f(beta)


def relu(y: np.ndarray) -> np.ndarray:
    return np.maximum(y, 0.0)


def pool3x3_same(x: np.ndarray, kind: str) -> np.ndarray:
    """3x3 stride-1 pool with 1 pixel of padding; 'avg' averages the window's *valid* pixels only
    (count_include_pad=False), 'max' ignores the padding."""
    h, w, _ = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(np.asarray(x, np.float64), ((1, 1), (1, 1), (0, 0)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(0, 1))  # (h, w, c, 3, 3)
    if kind == "max":
        return win.max(axis=(3, 4))
    ones = np.pad(np.ones((h, w)), 1)
    count = np.lib.stride_tricks.sliding_window_view(ones, (3, 3)).sum(axis=(2, 3))
    return win.sum(axis=(3, 4)) / count[..., None]


def max_pool(x: np.ndarray, size: int, stride: int, pad_end: int = 0) -> np.ndarray:
    """size x size max pool, ``pad_end`` extra rows / columns at the bottom / right that never win
    (Caffe's ceil rounding)."""
    xp = np.pad(np.asarray(x, np.float64), ((0, pad_end), (0, pad_end), (0, 0)), constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, (size, size), axis=(0, 1))[::stride, ::stride]
    return win.max(axis=(3, 4))


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max |want|: the round-off measure the tolerances below are stated in."""
    return float(np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max())
