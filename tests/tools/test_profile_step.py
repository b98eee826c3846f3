"""benchmarks/profile_step.py reads the profiler's host trace into op self times (train step and inference)."""
from __future__ import annotations

import re
import sys

import pytest

from support.paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
pytestmark = pytest.mark.slow  # two profiled traces of the tiny model: ~20-40 s


@pytest.mark.parametrize("mode", [[], ["--infer"]], ids=["train_step", "inference"])
def test_profile_lists_the_convolutions_and_shares_that_sum_to_the_total(mode, capsys):
    import profile_step

    assert profile_step.main(["--config", "tiny", "--batch", "2", "--steps", "2", "--top", "50", *mode]) == 0
    out = capsys.readouterr().out.splitlines()
    head = out[0]
    assert ("inference calls" in head) == bool(mode), head
    rows = [re.match(r"(\S+)\s+([\d.]+) s\s+([\d.]+)%$", ln) for ln in out[1:]]
    assert rows and all(rows), out
    ops = {m.group(1): float(m.group(3)) for m in rows}
    # the cascade is convolutions first: some oneDNN or Eigen convolution op is among the listed ops
    assert any("Conv2D" in op for op in ops), ops
    if mode:  # inference has no gradient ops
        assert not any("Backprop" in op for op in ops), ops
    else:
        assert any("Backprop" in op for op in ops), ops
    # --top 50 lists every op kind of the tiny graph, so the shares add up to 100 % (each rounded to 0.1 %)
    assert sum(ops.values()) == pytest.approx(100.0, abs=0.05 * len(ops) + 1e-9)
