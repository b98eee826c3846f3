"""PieAPP v0.1 port: architecture, patch sampling, converter and a numpy reference forward pass."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facehalluc.nets import pieapp as P
from support.torch_writer import save_torch_file

SMALL = 32  # patch size of the small test variant (same layer layout, smaller fc1 inputs)


def test_dense_grid_reproduces_the_authors_script() -> None:
    # 128: chunk 1 covers rows 0..117 -> arange(0, 55, 6); chunk 2 starts at 60 with 68 rows -> [60]
    np.testing.assert_array_equal(P.dense_patch_locations(128), np.arange(0, 61, 6))
    np.testing.assert_array_equal(P.dense_patch_locations(128, stride=P.SPARSE_STRIDE), [0, 27, 54])
    np.testing.assert_array_equal(P.dense_patch_locations(64), [0])
    locs = P.dense_patch_locations(256)
    assert locs[-1] == 192 and np.all(np.diff(locs) == 6)
    with pytest.raises(ValueError, match="at least 64"):
        P.dense_patch_locations(50)


def test_parameter_count_of_the_released_network() -> None:
    m = P.build_pieapp()
    m.trainable = True
    n = sum(int(np.prod(w.shape)) for w in m.trainable_weights)
    assert n == P.TOTAL_PARAMS == 68_376_580
    assert m.get_layer("fc1_score").get_weights()[0].shape == (120832, 512)
    assert m.get_layer("fc1_weight").get_weights()[0].shape == (2048, 512)


def _state(patch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    sd: dict[str, np.ndarray] = {}
    cin = 3
    for i, w in enumerate(P.CONV_WIDTHS, start=1):
        sd[f"conv{i}.weight"] = (rng.standard_normal((w, cin, 3, 3)) * np.sqrt(2 / (9 * cin))).astype(np.float32)
        sd[f"conv{i}.bias"] = (0.01 * rng.standard_normal(w)).astype(np.float32)
        cin = w
    sizes = [patch // 2, patch // 4, patch // 8, patch // 16, patch // 32]
    f_ms = sum(c * s * s for c, s in zip((64, 128, 256, 256, 512), sizes))
    f_c = 512 * sizes[-1] ** 2
    for name, (o, i) in {"fc1_score": (512, f_ms), "fc2_score": (1, 512), "fc1_weight": (512, f_c),
                         "fc2_weight": (1, 512), "ref_score_subtract": (1, 1)}.items():
        sd[f"{name}.weight"] = (rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
        sd[f"{name}.bias"] = (0.1 * rng.standard_normal(o)).astype(np.float32)
    sd["fc2_weight.bias"] = np.array([2.0], np.float32)  # keep weights positive-ish
    return sd


def _np_features(x: np.ndarray, sd: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Independent forward of the feature extractor on (P, H, W, 3) in NCHW like the authors' code."""
    h = np.transpose(x.astype(np.float64), (0, 3, 1, 2))
    taps = []
    for i in range(1, 12):
        w, b = sd[f"conv{i}.weight"].astype(np.float64), sd[f"conv{i}.bias"]
        hp = np.pad(h, ((0, 0), (0, 0), (1, 1), (1, 1)))
        win = np.lib.stride_tricks.sliding_window_view(hp, (3, 3), axis=(2, 3))  # N,C,H,W,3,3
        h = np.maximum(np.einsum("nchwij,ocij->nohw", win, w, optimize=True) + b[None, :, None, None], 0)
        if i in P.MS_TAPS:
            taps.append(h.reshape(len(h), -1))
        if i in P.POOL_AFTER:
            n, c, hh, ww = h.shape
            h = h.reshape(n, c, hh // 2, 2, ww // 2, 2).max(axis=(3, 5))
    return np.concatenate(taps, 1), taps[-1]


def test_converter_and_forward_match_numpy_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    sd = _state(SMALL, rng)
    src = tmp_path / P.SOURCE_FILENAME
    save_torch_file({f"module.{k}": v for k, v in sd.items()}, src, legacy=True)  # DataParallel-style keys
    out = tmp_path / "pieapp.weights.h5"
    P.convert_pieapp([src], out, patch_size=SMALL)
    model = P.build_pieapp(SMALL)
    model.load_weights(str(out))
    np.testing.assert_array_equal(model.get_layer("fc1_score").get_weights()[0], sd["fc1_score.weight"].T)

    ref_img = rng.random((40, 40, 3)).astype(np.float32)
    dist_img = np.clip(ref_img + 0.2 * rng.standard_normal(ref_img.shape), 0, 1).astype(np.float32)
    got = P.pieapp_pair(model, dist_img, ref_img)
    # numpy reference of the whole score: BGR 0..255 patches on the script's grid
    loc = P.dense_patch_locations(40, SMALL)
    np.testing.assert_array_equal(loc, [0, 6])  # 40-32=8: arange(0, 8, 6) + [8] -> one chunk, arange(0, 9, 6)
    a = np.stack([dist_img[y:y + SMALL, x:x + SMALL, ::-1] * 255 for y in loc for x in loc])
    r = np.stack([ref_img[y:y + SMALL, x:x + SMALL, ::-1] * 255 for y in loc for x in loc])
    (a_ms, a_c), (r_ms, r_c) = _np_features(a, sd), _np_features(r, sd)

    def lin(name: str, v: np.ndarray) -> np.ndarray:
        return v @ sd[f"{name}.weight"].T.astype(np.float64) + sd[f"{name}.bias"]

    s = lin("ref_score_subtract", 0.01 * lin("fc2_score", np.maximum(lin("fc1_score", r_ms - a_ms), 0)))[:, 0]
    w = lin("fc2_weight", np.maximum(lin("fc1_weight", r_c - a_c), 0))[:, 0] + 1e-6
    want = float((s * w).sum() / w.sum())
    assert got == pytest.approx(want, rel=1e-4, abs=1e-5)


def test_converter_errors(tmp_path: Path) -> None:
    model = P.build_pieapp(SMALL)
    sd = _state(SMALL, np.random.default_rng(1))
    bad = dict(sd)
    del bad["conv5.bias"]
    with pytest.raises(P.ConversionError, match="missing tensor conv5.bias"):
        P.assign_state_dict(model, bad, "x.pth")
    bad = dict(sd, extra=np.zeros(1, np.float32))
    with pytest.raises(P.ConversionError, match="unexpected tensors"):
        P.assign_state_dict(model, bad, "x.pth")
    bad = dict(sd)
    bad["fc1_score.weight"] = sd["fc1_score.weight"][:, :-1]
    with pytest.raises(P.ConversionError, match="fc1_score.weight has shape"):
        P.assign_state_dict(model, bad, "x.pth")
