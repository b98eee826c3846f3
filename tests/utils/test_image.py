"""facehalluc.utils.image: the one image module (read, write, convert, grid, one error type)."""
from pathlib import Path

import numpy as np
import pytest

from facehalluc.utils.image import (ImageError, contact_sheet, encode_image, figure_grid, grid, nearest_resize,
                                    read_image, to_float, to_uint8, write_image)


# ------------------------------------------------------------------------------------------ conversion
def test_to_uint8_rounds_half_to_even_and_clips_constants_by_hand():
    # x * 255: 0 -> 0; 0.125 -> 31.875 -> 32; 0.25 -> 63.75 -> 64 (truncation: 63); 0.5 -> 127.5 -> 128;
    # 0.75 -> 191.25 -> 191; 1 -> 255; above 1 and below 0 are clipped first.
    x = np.array([0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.25, -0.5], np.float32)
    got = to_uint8(x)
    assert got.dtype == np.uint8
    assert got.tolist() == [0, 32, 64, 128, 191, 255, 255, 0]
    assert to_uint8(x.astype(np.float64)).tolist() == [0, 32, 64, 128, 191, 255, 255, 0]
    # peak=255: values already 0..255; ties go to the even neighbour (2.5 -> 2, 3.5 -> 4, 254.5 -> 254)
    assert to_uint8(np.array([2.5, 3.5, 254.5, 255.7, -3.0]), peak=255.0).tolist() == [2, 4, 254, 255, 0]
    u = np.array([[7, 200]], np.uint8)
    assert to_uint8(u) is u  # uint8 passes through untouched
    with pytest.raises(ValueError, match="peak"):
        to_uint8(x, peak=2.0)


def test_to_float_divides_uint8_by_255_and_only_casts_floats():
    got = to_float(np.array([0, 51, 255], np.uint8))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([0.0, 51.0, 255.0], np.float32) / np.float32(255.0))
    assert got[1] == np.float32(0.2) and got[2] == 1.0
    g64 = to_float(np.array([51], np.uint8), np.float64)
    assert g64.dtype == np.float64 and g64[0] == 0.2
    f = np.array([0.3, 1.5], np.float64)
    np.testing.assert_array_equal(to_float(f), f.astype(np.float32))  # a float image is not rescaled
    # the round trip of every uint8 value is exact
    every = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(to_uint8(to_float(every)), every)


# ------------------------------------------------------------------------------------------ files
def test_write_read_roundtrip(tmp_path: Path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    p = write_image(tmp_path / "sub" / "a.png", img)
    assert p == tmp_path / "sub" / "a.png"
    np.testing.assert_array_equal(read_image(p), img)
    assert not [q for q in p.parent.iterdir() if q.name.startswith(".tmp-")]  # no temporary file left
    f = rng.random((4, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "f.png", f)), to_uint8(f))
    grey = rng.integers(0, 256, (6, 7), dtype=np.uint8)
    back = read_image(write_image(tmp_path / "g.png", grey), mode="L")
    np.testing.assert_array_equal(back, grey)
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), np.repeat(grey[..., None], 3, axis=2))
    # the file is Pillow's PNG encoding of the uint8 image, byte for byte
    assert p.read_bytes() == encode_image(img)


def test_errors_name_the_file_and_the_reason(tmp_path: Path):
    missing = tmp_path / "nope.png"
    with pytest.raises(ImageError) as e:
        read_image(missing)
    assert str(e.value) == f"{missing}: no such file" and e.value.path == str(missing)
    assert e.value.reason == "no such file" and isinstance(e.value, ValueError)

    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ImageError) as e:
        read_image(text)
    assert str(e.value).startswith(f"{text}: unreadable image") and "Pillow" in e.value.reason

    with pytest.raises(ImageError) as e:
        read_image(tmp_path)
    assert str(e.value) == f"{tmp_path}: not a file"

    wrong = tmp_path / "wrong.png"
    with pytest.raises(ImageError) as e:
        write_image(wrong, np.zeros((4, 4, 5), np.uint8))
    assert str(e.value).startswith(f"{wrong}: cannot write an array of shape (4, 4, 5)")
    assert not wrong.exists()
    with pytest.raises(ImageError, match=r"x\.gif2: unknown image extension"):
        write_image(tmp_path / "x.gif2", np.zeros((2, 2, 3), np.uint8))


def test_preprocess_unreadable_error_is_the_image_error(tmp_path: Path):
    from facehalluc.preprocess import PreprocessError, UnreadableImageError, load_rgb

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(ImageError) as e:
        load_rgb(bad)
    assert isinstance(e.value, UnreadableImageError) and isinstance(e.value, PreprocessError)
    assert e.value.path == e.value.source == str(bad) and str(e.value).startswith(f"{bad}: ")


# ------------------------------------------------------------------------------------------ layout
def test_grid_layout_by_hand():
    a = np.full((2, 2, 3), 10, np.uint8)
    b = np.full((2, 2, 3), 20, np.uint8)
    c = np.full((2, 2, 3), 30, np.uint8)
    g = grid([[a, b], [c]], pad=1, margin=1, fill=9)
    # 1 + 2 + 1 + 2 + 1 = 7 rows and columns; the missing cell (1, 1) stays 9
    want = np.full((7, 7, 3), 9, np.uint8)
    want[1:3, 1:3], want[1:3, 4:6], want[4:6, 1:3] = 10, 20, 30
    np.testing.assert_array_equal(g, want)
    # no pad, no margin: plain concatenation; float cells are converted by to_uint8; grey cells are expanded
    g2 = grid([[np.full((1, 2), 0.5, np.float32), np.full((1, 2, 3), 3, np.uint8)]], fill=0)
    assert g2.shape == (1, 4, 3)
    np.testing.assert_array_equal(g2[0], [[128] * 3, [128] * 3, [3] * 3, [3] * 3])
    with pytest.raises(ValueError, match="different sizes"):
        grid([[a, np.zeros((3, 3, 3), np.uint8)]])


def test_grid_resizes_and_labels():
    cell = np.arange(4, dtype=np.uint8).reshape(2, 2)[..., None].repeat(3, axis=2) * 60
    g = grid([[cell]], size=4)
    np.testing.assert_array_equal(g[..., 0], nearest_resize(cell, 4)[..., 0])
    np.testing.assert_array_equal(g[:2, :2, 0], [[0, 0], [0, 0]])
    np.testing.assert_array_equal(g[2:, 2:, 0], [[180, 180], [180, 180]])
    sheet = contact_sheet([[cell, cell]], labels=["AB", "CD"], size=20, pad=2)
    # header 14 + margin 2 + cell 20 + margin 2; width 2 + 20 + 2 + 20 + 2
    assert sheet.shape == (38, 46, 3)
    assert (sheet[:14] < 235).any()  # the titles are drawn on the header line ...
    assert (sheet[14:16] == 235).all() and (sheet[:, :2] == 235).all()  # ... above the light grey margin
    np.testing.assert_array_equal(sheet[16:36, 2:22], nearest_resize(cell, 20))
    np.testing.assert_array_equal(sheet[16:36, 24:44], nearest_resize(cell, 20))
    plain = contact_sheet([[cell, cell]], size=20, pad=2)
    np.testing.assert_array_equal(plain, sheet[14:])  # the same sheet without the header


def test_figure_grid_writes_a_png(tmp_path: Path):
    cols = {"a": [np.zeros((8, 8, 3), np.uint8)] * 2, "b": [np.ones((8, 8, 3), np.float32)] * 2}
    p = figure_grid(cols, tmp_path / "fig.png", ["r0", "r1"], title="t")
    img = read_image(p)
    assert img.shape[0] > img.shape[1] * 0.5 and img.shape[2] == 3
