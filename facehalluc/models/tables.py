"""Generator layer tables: supplementary Tables 1–5, one row per table row.

The tables reuse decoder names (Table 4 lists "conv3" twice); here each row keeps the paper's name
in ``paper_name`` and gets a unique ``name`` (``dec_convK`` for decoder convs).  ``filters`` is the
value the table prints (``4*512`` is stored as 2048), before ``ModelConfig.width_divisor``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RowKind = Literal["conv", "rb", "fc", "ps", "out"]


@dataclass(frozen=True)
class Row:
    kind: RowKind
    name: str
    paper_name: str
    kernel: int = 0
    stride: int = 1
    dilation: int = 1
    filters: int = 0  # conv filters / residual-block width / dense units


def _c(name: str, k: int, s: int, d: int, f: int, paper: str | None = None) -> Row:
    return Row("conv", name, paper or name, k, s, d, f)


def _rb(i: int, f: int) -> Row:
    return Row("rb", f"rb{i}", f"RB{i}", 3, 1, 1, f)


def _fc() -> list[Row]:
    return [Row("fc", "fc1", "fc1", filters=512), Row("fc", "fc2", "fc2", filters=16384)]


def _decoder(widths: list[int], first_paper_index: int) -> list[Row]:
    rows: list[Row] = []
    for i, w in enumerate(widths):
        rows.append(_c(f"dec_conv{i + 1}", 3, 1, 1, 4 * w, paper=f"conv{first_paper_index + i}"))
        rows.append(Row("ps", f"ps{i + 1}", f"PS{i + 1}"))
    return rows


def _out(paper_index: int) -> Row:
    return Row("out", "out_conv", f"conv{paper_index}", 5, 1, 1, 3)


def _encoder(widths: list[int], first_stride: int = 2, first_dilation: int = 1) -> list[Row]:
    rows = [_c("conv0", 3, 1, 2, 128)]
    for i, w in enumerate(widths):
        stride, dil = (first_stride, first_dilation) if i == 0 else (2, 1)
        rows.append(_c(f"conv{i + 1}", 3, stride, dil, w))
        rows.append(_rb(i + 1, w))
    return rows


GENERATOR_TABLES: dict[int, tuple[Row, ...]] = {
    # Table 1: block_8. conv1 is 3x3 / stride 1 / dilation 2 (no downsampling at 8x8).
    8: tuple(_encoder([1024], first_stride=1, first_dilation=2) + _fc() + _decoder([512], 2) + [_out(3)]),
    # Table 2: block_16
    16: tuple(_encoder([512, 1024]) + _fc() + _decoder([512, 256], 3) + [_out(5)]),
    # Table 3: block_32
    32: tuple(_encoder([256, 512, 1024]) + _fc() + _decoder([512, 256, 128], 3) + [_out(6)]),
    # Table 4: block_64
    64: tuple(_encoder([128, 256, 512, 1024]) + _fc() + _decoder([512, 256, 128, 64], 3) + [_out(7)]),
    # Table 5: block_128
    128: tuple(_encoder([64, 128, 256, 512, 1024]) + _fc() + _decoder([512, 256, 128, 64, 64], 3) + [_out(8)]),
}

# 4x4 spatial bottleneck produced by fc2 (16,384 = 4 * 4 * 1024).
BOTTLENECK_HW = 4

# CASIA-Net (Yi et al. 2014, "Learning face representation from scratch", Table 1) conv layers:
# (name, filters, max-pool follows). pool5 is an average pool and fc6 a classifier; the paper removes
# max-pooling and fully-connected layers.
CASIA_CONVS: tuple[tuple[str, int, bool], ...] = (
    ("conv11", 32, False), ("conv12", 64, True),
    ("conv21", 64, False), ("conv22", 128, True),
    ("conv31", 96, False), ("conv32", 192, True),
    ("conv41", 128, False), ("conv42", 256, True),
    ("conv51", 160, False), ("conv52", 320, False),
)
