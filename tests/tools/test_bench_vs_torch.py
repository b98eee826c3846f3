"""benchmarks/bench_vs_torch.py's summary: ratio of medians and per-round paired ratios, by hand."""
from __future__ import annotations

import json
import sys

import pytest

from support.paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))


def _bench(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)  # what the module sets; put back after the test
    import bench_vs_torch

    return bench_vs_torch


def _info(seconds: dict) -> dict:
    import statistics

    return {"seconds": seconds, "median_s": {k: statistics.median(v) for k, v in seconds.items()},
            "first_call_s": {k: 1.0 for k in seconds}, "matmul_gflops_start": {"tf": 100.0},
            "matmul_gflops_end": {"tf": 100.0}, "config": "shipped", "batch": 8,
            "machine": {"cpu": "test", "kind": "avx2", "cores": 2, "loadavg_start": [0.0], "loadavg_end": [0.0]},
            "command": "python benchmarks/bench_vs_torch.py --rounds 3 --steps 2"}


def test_paired_ratios_cancel_drift_between_rounds(monkeypatch, capsys):
    b = _bench(monkeypatch)
    # the machine slows 2x in round 2 and 3x in round 3; TF is 2x PyTorch in every round
    info = _info({"torch": [2.0, 4.0, 6.0], "tf_graph": [1.0, 2.0, 3.0], "infer_torch_b1": [1.0, 3.0, 2.0],
                  "infer_default_b1": [2.0, 1.0, 1.0]})
    b.summarize(info, 3, 2)
    sp = info["speedup"]
    assert sp["tf_graph"] == {"vs": "torch", "x": 2.0, "paired_median_x": 2.0, "paired_min_x": 2.0,
                              "paired_max_x": 2.0}
    # inference: medians 2 / 1 = 2x; paired 1/2, 3/1, 2/1 -> median 2, range [0.5, 3]
    assert sp["infer_default_b1"]["vs"] == "infer_torch_b1"
    assert (sp["infer_default_b1"]["x"], sp["infer_default_b1"]["paired_median_x"]) == (2.0, 2.0)
    assert (sp["infer_default_b1"]["paired_min_x"], sp["infer_default_b1"]["paired_max_x"]) == (0.5, 3.0)
    assert "paired 2.00x [0.50, 3.00]" in capsys.readouterr().out


def test_summarize_option_reads_a_saved_result(monkeypatch, tmp_path, capsys):
    b = _bench(monkeypatch)
    f = tmp_path / "r.json"
    f.write_text(json.dumps(_info({"torch": [3.0, 3.0], "tf_graph": [2.0, 1.5]})))
    assert b._steps_of("python x --rounds 2 --steps 5") == 5 and b._steps_of("python x") == 1
    assert b.main(["--summarize", str(f)]) == 0
    out = capsys.readouterr().out
    assert "2 rounds x 2 steps" in out
    assert "tf_graph" in out and "1.71x vs torch; paired 1.75x [1.50, 2.00]" in out  # 3 / 1.75; (1.5 + 2) / 2
