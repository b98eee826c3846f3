"""Graph mode (tf.function, fit, predict, SavedModel) computes what eager mode computes, on any x86 CPU.

TensorFlow 2.21 with oneDNN on (the default on x86 CPUs with AVX-512 VNNI/BF16) fuses
``Conv2D + BiasAdd + Add + LeakyRelu`` in grappler's remapper into one ``_FusedConv2D`` and drops the
LeakyReLU slope (the fused kernel uses the default 0.2).  The generators' residual blocks had exactly
that pattern with slope 0.1, so graph mode computed another network (7e-3 .. 1e-2 max abs on the tiny
cascade).  See docs/numerics.md.

Every check runs in a subprocess with ``TF_ENABLE_ONEDNN_OPTS=1``, which turns oneDNN's graph rewrites on
whatever CPU runs the test, so it cannot pass on one machine and fail on another for that reason.

Tolerance: 1e-5 max abs on [0, 1] images.  Eager and graph run the same float32 oneDNN convolution
primitives; fusing bias/add/activation as post-ops does not reorder the convolution's sums, so the
outputs are expected to be bit-identical (0.0 was measured on AMD Zen 5); 1e-5 (~80 float32 ulps
near 1.0) leaves room for a different but correct kernel choice while being ~700x below the error the
bug caused.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from support.paths import REPO

# every test here reads one module fixture: a subprocess that traces and runs the cascades (~45 s)
pytestmark = pytest.mark.slow
TOL = 1e-5

_SCRIPT = r"""
import json, sys
import numpy as np, tensorflow as tf, keras
from keras import layers
sys.path.insert(0, {repo!r})
from facehalluc.config import load_config
from facehalluc.models import build_cascade, build_discriminator
from facehalluc.models.layers import SafeLeakyReLU

out = {{}}
rng = np.random.default_rng(0)

def graph_vs_eager(model, x):
    e = model(x, training=False)
    g = tf.function(lambda t: model(t, training=False))(x)
    p = model.predict(x, verbose=0)
    flat = lambda d: d if isinstance(d, dict) else {{"y": d}}
    e, g, p = flat(e), flat(g), flat(p)
    return (max(float(np.max(np.abs(np.asarray(e[k]) - np.asarray(g[k])))) for k in e),
            max(float(np.max(np.abs(np.asarray(e[k]) - np.asarray(p[k])))) for k in e))

# 1. the raw TF pattern with slope 0.1 and its SafeLeakyReLU replacement (only the replacement is tested:
#    whether this TF build still mis-fuses the raw pattern is a fact about TF, printed by bench_numerics)
x = tf.constant(rng.standard_normal((2, 8, 8, 4)).astype("float32"))
w = tf.constant(rng.standard_normal((3, 3, 4, 4)).astype("float32"))
b = tf.constant(rng.standard_normal((4,)).astype("float32"))
s = tf.constant(rng.standard_normal((2, 8, 8, 4)).astype("float32"))
fixed = lambda x: (lambda z: SafeLeakyReLU(0.1)(z))(tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "SAME"), b) + s)
out["fixed_pattern"] = float(np.max(np.abs(fixed(x).numpy() - tf.function(fixed)(x).numpy())))
ref = tf.maximum(tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "SAME"), b) + s, 0.1 * (tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "SAME"), b) + s))
out["fixed_vs_definition"] = float(np.max(np.abs(tf.function(fixed)(x).numpy() - ref.numpy())))

# 2. the tiny cascade (the generators' real layer pattern), random weights
cfg = load_config("tiny")
keras.utils.set_random_seed(0)
cascade = build_cascade(cfg)
inp = {{}}
for t in cascade.inputs:
    n = t.name.split(":")[0]
    shp = [2] + list(t.shape[1:])
    inp[n] = rng.random(shp).astype("float32") if n.startswith("masked") else (rng.random(shp) > 0.5).astype("float32")
out["tiny_cascade"] = graph_vs_eager(cascade, inp)

# 3. a discriminator with a non-default slope (conv + batch norm + LeakyReLU, inference mode)
cfg_d = load_config("tiny", ["model.d_leaky_slope=0.1"])
keras.utils.set_random_seed(1)
d = build_discriminator(32, cfg_d)
out["disc_slope_0.1"] = graph_vs_eager(d, rng.random((2, 32, 32, 3)).astype("float32"))

# 4. one real GAN train step (tiny, L_pc/L_id off) in graph mode: grappler must not log "remapper failed"
from facehalluc.models import cascade_inputs_from_128, image_pyramid
from facehalluc.train.trainer import GANTrainer, build_discriminators, make_optimizers
cfg_t = load_config("tiny", ["loss.use_pc=false", "loss.use_id=false", "train.batch_size=2"])
keras.utils.set_random_seed(2)
full = rng.random((2, 128, 128, 3)).astype("float32")
mask = np.zeros((2, 128, 128, 1), np.float32); mask[:, 40:90, 44:84] = 1.0
batch = dict(cascade_inputs_from_128(full * mask, mask, cfg_t.model.resolutions))
batch.update({{f"full_{{r}}": v for r, v in image_pyramid(full, cfg_t.model.resolutions).items()}})
batch = {{k: tf.constant(np.asarray(v)) for k, v in batch.items()}}
trainer = GANTrainer(build_cascade(cfg_t), build_discriminators(cfg_t.model.resolutions, cfg_t), cfg_t,
                     __import__("facehalluc.losses", fromlist=["LossNetworks"]).LossNetworks())
trainer.compile(*make_optimizers(cfg_t))
step = tf.function(trainer.train_step)
logs = step(batch)
out["train_step_g_total"] = float(logs["g_total"])
# the step is traced inside fastpath.native_dilated_conv: with oneDNN on its dilated convolutions (every
# block's conv0) are single Conv2D ops, forward and backward, with no space-to-batch around them
graph_def = step.get_concrete_function(batch).graph.as_graph_def()
nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
out["train_step_space_to_batch"] = sum(n.op == "SpaceToBatchND" for n in nodes)
out["train_step_dilated_conv"] = sum(n.op.startswith("Conv2D")
                                     and list(n.attr["dilations"].list.i) not in ([], [1, 1, 1, 1]) for n in nodes)
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def numerics() -> dict:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT.format(repo=str(REPO))], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    out["stderr"] = proc.stderr
    return out


def test_residual_leaky_relu_equals_its_definition_in_graph_mode(numerics):
    assert numerics["fixed_pattern"] <= TOL
    assert numerics["fixed_vs_definition"] <= TOL


def test_tiny_cascade_graph_equals_eager_with_onednn_on(numerics):
    graph, predict = numerics["tiny_cascade"]
    assert graph <= TOL, f"tf.function vs eager: {graph:.2e}"
    assert predict <= TOL, f"predict vs eager: {predict:.2e}"


def test_discriminator_with_non_default_slope_graph_equals_eager(numerics):
    graph, predict = numerics["disc_slope_0.1"]
    assert graph <= TOL and predict <= TOL, (graph, predict)


def test_train_step_graph_is_remapped_without_errors(numerics):
    """A GAN train step's graph must not make grappler's remapper fail (it then skips the whole graph).

    TF_CPP_MIN_LOG_LEVEL=2 still prints ERROR lines such as ``remapper failed: ... LeakyReluGrad exist for
    missing node ...``, which plain keras LeakyReLU layers caused (see docs/numerics.md).
    """
    import math

    assert math.isfinite(numerics["train_step_g_total"])
    # and with the dilated convolutions native (fastpath.native_dilated_conv; oneDNN is on in this subprocess
    # wherever TensorFlow has its oneDNN kernels: x86-64 Linux)
    if sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64"):
        assert numerics["train_step_space_to_batch"] == 0 and numerics["train_step_dilated_conv"] >= 5
    bad = [line for line in numerics["stderr"].splitlines() if "remapper failed" in line]
    assert not bad, bad[:2]
