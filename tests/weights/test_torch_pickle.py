"""facehalluc.weights.torch_pickle: both torch formats, dtypes, strides, and refusal of foreign pickles."""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from facehalluc.weights.torch_pickle import TorchFileError, load_torch_file
from support.torch_writer import StridedTensor, save_torch_file

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _state(rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for i, dt in enumerate(DTYPES):
        shape = (2, 3, 1 + i % 3, 2)
        if dt == "bool":
            arr = rng.random(shape) > 0.5
        elif dt.startswith(("int", "uint")):
            arr = rng.integers(-100 if dt != "uint8" else 0, 100, shape).astype(dt)
        else:
            arr = rng.standard_normal(shape).astype(dt)
        out[f"layer{i}.weight"] = arr
    out["scalar"] = np.asarray(3.5, np.float32)
    out["empty"] = np.zeros((0, 4), np.float32)
    return out


@pytest.mark.parametrize("legacy", [False, True])
def test_roundtrip_all_dtypes(tmp_path: Path, legacy: bool) -> None:
    state = _state(np.random.default_rng(0))
    path = save_torch_file(state, tmp_path / "w.pth", legacy=legacy)
    assert zipfile.is_zipfile(path) is (not legacy)
    back = load_torch_file(path)
    assert list(back) == list(state)
    for k, v in state.items():
        assert back[k].dtype == v.dtype, k
        assert back[k].shape == v.shape, k
        np.testing.assert_array_equal(back[k], v)


@pytest.mark.parametrize("legacy", [False, True])
def test_strides_offsets_and_shared_storage(tmp_path: Path, legacy: bool) -> None:
    storage = np.arange(40, dtype=np.float32)
    state = {
        # a transposed (2, 3) view: element [i, j] = storage[5 + i + 2 * j]
        "t": StridedTensor(storage, 5, (2, 3), (1, 2)),
        # a second tensor on the same storage, with an offset
        "u": StridedTensor(storage, 30, (2, 2), (4, 1)),
        "expanded": StridedTensor(storage, 1, (3, 2), (0, 1)),  # stride 0 (broadcast)
    }
    back = load_torch_file(save_torch_file(state, tmp_path / "s.pth", legacy=legacy))
    np.testing.assert_array_equal(back["t"], [[5, 7, 9], [6, 8, 10]])
    np.testing.assert_array_equal(back["u"], [[30, 31], [34, 35]])
    np.testing.assert_array_equal(back["expanded"], [[1, 2], [1, 2], [1, 2]])
    assert back["t"].flags.c_contiguous


def test_out_of_bounds_view_is_refused(tmp_path: Path) -> None:
    storage = np.arange(6, dtype=np.float32)
    path = save_torch_file({"bad": StridedTensor(storage, 4, (2, 2), (2, 1))}, tmp_path / "b.pth")
    with pytest.raises(TorchFileError, match="past the end"):
        load_torch_file(path)


def _evil_pickle(marker: Path) -> bytes:
    # GLOBAL builtins.exec + REDUCE: would create ``marker`` if it were ever executed.
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    return (b"\x80\x02cbuiltins\nexec\n(X" + struct.pack("<I", len(code)) + code.encode()
            + b"tR.")


def test_foreign_global_is_refused_zip(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("evil/data.pkl", _evil_pickle(marker))
        zf.writestr("evil/version", "3\n")
    with pytest.raises(TorchFileError, match=r"evil.pth.*builtins\.exec"):
        load_torch_file(path)
    assert not marker.exists()


def test_foreign_global_is_refused_legacy(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    buf = io.BytesIO()
    pickle.dump(0x1950A86A20F9469CFC6C, buf, protocol=2)
    pickle.dump(1001, buf, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True}, buf, protocol=2)
    buf.write(_evil_pickle(marker))
    pickle.dump([], buf, protocol=2)
    path = tmp_path / "evil_legacy.pth"
    path.write_bytes(buf.getvalue())
    with pytest.raises(TorchFileError, match="builtins.exec"):
        load_torch_file(path)
    assert not marker.exists()


def test_garbage_and_truncated_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"hello world, not a torch file")
    with pytest.raises(TorchFileError, match="junk.pth"):
        load_torch_file(junk)
    good = save_torch_file({"w": np.ones((10, 10), np.float32)}, tmp_path / "g.pth", legacy=True)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(TorchFileError, match="truncated"):
        load_torch_file(cut)
    with pytest.raises(TorchFileError, match="no such file"):
        load_torch_file(tmp_path / "absent.pth")


def test_real_lpips_files(lpips_dir: Path) -> None:
    alex = load_torch_file(lpips_dir / "alexnet_features_torchvision.pth")
    assert sorted(alex) == sorted(f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias"))
    assert alex["features.0.weight"].shape == (64, 3, 11, 11)
    assert alex["features.10.weight"].shape == (256, 256, 3, 3)
    for v in ("0.0", "0.1"):
        lin = load_torch_file(lpips_dir / f"lpips_v{v}_alex.pth")
        assert [lin[f"lin{k}.model.1.weight"].shape[1] for k in range(5)] == [64, 192, 384, 256, 256]
        # LPIPS clamps its learned weights to be non-negative
        assert all((w >= 0).all() for w in lin.values())
