"""benchmarks/bench_conv_matmul.py: which convolution shapes it reads from a model (by hand), and a tiny run."""
from __future__ import annotations

import json
import sys

from support.paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))


def test_conv_shapes_reads_the_stride_1_same_padded_convolutions_with_their_counts():
    import keras

    import bench_conv_matmul as b

    x = keras.Input((8, 8, 4))
    y = keras.layers.Conv2D(6, 3, padding="same")(x)  # (8, 8, 4, 6, 3)
    y = keras.layers.Conv2D(6, 3, padding="same")(y)  # (8, 8, 6, 6, 3)
    y = keras.layers.Conv2D(6, 3, padding="same")(y)  # (8, 8, 6, 6, 3) again
    y = keras.layers.Conv2D(6, 3, padding="valid")(y)  # valid: not read; 6x6 out
    y = keras.layers.Conv2D(5, 3, strides=2, padding="same")(y)  # strided: not read; 3x3 out
    y = keras.layers.Conv2D(5, 2, padding="same")(y)  # even kernel: not read
    y = keras.layers.Conv2D(5, 3, padding="same", dilation_rate=2)(y)  # dilated: not read
    z = keras.Input((3, 3, 5))
    inner = keras.Model(z, keras.layers.Conv2D(2, 5, padding="same")(z))  # nested model: (3, 3, 5, 2, 5)
    model = keras.Model(x, inner(y))
    assert b.conv_shapes(model, 64) == [((8, 8, 6, 6, 3), 2), ((8, 8, 4, 6, 3), 1), ((3, 3, 5, 2, 5), 1)]
    assert b.conv_shapes(model, 9) == [((3, 3, 5, 2, 5), 1)]  # at most 9 input pixels


def test_a_tiny_run_times_both_forms_and_they_agree(tmp_path, capsys):
    import bench_conv_matmul as b

    out = tmp_path / "r.json"
    assert b.main(["--config", "tiny", "--batch", "2", "--rounds", "1", "--max-pixels", "16", "--json", str(out)]) == 0
    info = json.loads(out.read_text())
    assert info["shapes"] and all(s["h"] * s["w"] <= 16 for s in info["shapes"])
    for s in info["shapes"]:
        assert set(s["ms"]) == {"xla_conv", "xla_matmul"}
        assert s["max_rel_diff"] <= 1e-5  # the same sums in another order (float32)
        assert s["rule"] == ("product" if min(s["c_in"], s["c_out"]) >= 256 else "conv")  # tiny: 64 channels
    assert set(info["weighted_total_ms"]) == {"xla_conv", "xla_matmul"}
    assert "layer-weighted totals" in capsys.readouterr().out
