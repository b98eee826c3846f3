"""benchmarks/onednn_primitives.py sums oneDNN's verbose log per primitive and per convolution shape."""
from __future__ import annotations

import platform
import sys

import pytest

from support.paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

# two steps' worth of oneDNN v3 verbose lines (the format TF 2.21 and PyTorch 2.x print), with log noise around
LOG = """onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx512_core,forward_training,src:f32,,mb8_ic3oc16_ih8,9.0
=== timed steps start ===
onednn_verbose,v1,info,cpu,runtime:threadpool
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32,,mb8_ic3oc16_ih8,1.5
onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx512_core,backward_weights,src:f32,,mb8_ic3oc16_ih8,2.5
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32 dst:f32,,16x3x3x3,0.25
onednn_verbose,v1,primitive,create:cache_hit,cpu,reorder,jit:uni,undef,src:f32 dst:f32,,16x3x3x3,0.01
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32,,mb8_ic3oc16_ih8,0.5
onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx512_core,backward_weights,src:f32,,mb8_ic3oc16_ih8,3.5
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32 dst:f32,,16x3x3x3,0.75
=== wall 0.1250 s per step (with verbose logging) ===
"""


def test_parse_sums_per_step_after_the_marker_and_skips_creation_lines():
    import onednn_primitives as op

    r = op.parse(LOG, steps=2)
    # per step: forward (1.5 + 0.5) / 2 = 1.0, filter gradient (2.5 + 3.5) / 2 = 3.0, reorders (0.25 + 0.75) / 2 = 0.5;
    # the 9.0 ms warm-up line before the marker and the 0.01 ms creation line are not counted
    assert r["by_impl"]["convolution|brg_conv_fwd:avx512_core|forward_training"] == [1.0, 1]
    assert r["by_impl"]["convolution|jit:avx512_core|backward_weights"] == [3.0, 1]
    assert r["by_impl"]["reorder|jit:uni|undef"] == [0.5, 1]
    assert r["by_shape"]["convolution|backward_weights|mb8_ic3oc16_ih8"] == [3.0, 1]
    assert r["total_ms"] == pytest.approx(4.5) and r["calls"] == 3
    assert r["wall_s_with_logging"] == 0.125
    assert op.parse("no marker\n", 1)["calls"] == 0


@pytest.mark.slow
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN's CPU primitives: x86 only")
def test_tensorflow_child_logs_the_generator_steps_convolutions(capsys):
    """The tiny generator step's convolutions appear in all three directions (TF only: PyTorch is an extra)."""
    import argparse

    import onednn_primitives as op

    args = argparse.Namespace(config="tiny", batch=2, steps=1, infer=False, sequential=True, overrides=[])
    r = op.run("tf", args)
    directions = {k.split("|")[2] for k in r["by_impl"] if k.startswith("convolution|")}
    assert {"forward_training", "backward_data", "backward_weights"} <= directions, r["by_impl"].keys()
    assert r["total_ms"] > 0 and r["wall_s_with_logging"] > 0
