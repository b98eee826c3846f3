"""train.xla_elementwise: the graph-mode train step with its element-wise ops clustered by XLA computes what the
plain graph step computes (issue 24).  Each setting needs its own process: TensorFlow reads TF_XLA_FLAGS once."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from support.paths import REPO

pytestmark = pytest.mark.slow  # two processes of three tiny train steps, one with XLA cluster compiles: ~40 s

_SCRIPT = r"""
import json, os, sys
sys.path.insert(0, {repo!r})
from facehalluc.utils import fastpath
if sys.argv[1] == "on":
    assert fastpath.enable_xla_elementwise(fastpath.Choice(True, "test")).on
import keras, numpy as np, tensorflow as tf
from facehalluc.config import load_config
from facehalluc.losses import build_loss_networks
from facehalluc.models import build_cascade
from facehalluc.train.trainer import GANTrainer, build_discriminators, make_optimizers

# the generator's own losses (pixel, TV): no discriminators or LPIPS, so the cluster compiles stay short
cfg = load_config("tiny", ["weights.allow_random=true", "loss.use_id=false", "loss.use_pc=false",
                          "loss.use_adv=false"])
keras.utils.set_random_seed(3)
tr = GANTrainer(build_cascade(cfg), build_discriminators(tuple(cfg.model.resolutions), cfg), cfg,
                build_loss_networks(cfg))
tr.compile(*make_optimizers(cfg))
rng = np.random.default_rng(0)
data = {{}}
for r in cfg.model.resolutions:
    full = rng.uniform(0, 1, (2, r, r, 3)).astype("float32")
    mask = np.zeros((2, r, r, 1), "float32"); mask[:, r // 4: 3 * r // 4, r // 4: 3 * r // 4] = 1
    data.update({{f"full_{{r}}": full, f"masked_{{r}}": full * mask, f"mask_{{r}}": mask}})
data = {{k: tf.constant(v) for k, v in data.items()}}
step = tf.function(tr.train_step)
logs = [{{k: float(v) for k, v in step(data).items()}} for _ in range(3)]
print("RESULT " + json.dumps(logs))
"""


def _run(setting: str) -> tuple[list[dict], str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", TF_ENABLE_ONEDNN_OPTS=os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1"))
    env.pop("TF_XLA_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", _SCRIPT.format(repo=str(REPO)), setting], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]), out.stderr


def test_element_wise_xla_clusters_compile_and_train_the_same():
    plain, plain_err = _run("off")
    fused, fused_err = _run("on")
    assert "Compiled cluster using XLA" not in plain_err
    assert "Compiled cluster using XLA" in fused_err  # the flags reached TensorFlow: clusters were compiled
    assert [sorted(d) for d in fused] == [sorted(d) for d in plain]
    for a, b in zip(plain, fused):  # three train steps: every logged loss and metric
        for k in a:
            np.testing.assert_allclose(b[k], a[k], rtol=TOL, atol=TOL, err_msg=k)


# XLA's fused element-wise kernels round differently (its tanh is a rational approximation; reductions sum in another
# order): 6.4e-7 relative at most over the three steps, measured on the Zen 4 (avx512_bf16); 1e-5 leaves room for
# other kinds' kernels and still fails on any real difference (a wrong slope or a dropped term moves the losses by %)
TOL = 1e-5


def test_train_cli_sets_the_flags_before_tensorflow_starts(tmp_path):
    """train.py imports ``facehalluc.train.cli`` without TensorFlow (the package's names load lazily), and the CLI
    sets TF_XLA_FLAGS from the config before it imports the trainer; the start-up line reports it.  The run then
    stops on the missing data file (exit 2)."""
    code = (
        "import os, sys\n"
        "import facehalluc.train.cli as cli\n"
        "assert 'tensorflow' not in sys.modules, 'facehalluc.train.cli imported TensorFlow'\n"
        f"rc = cli.main(['--config', 'shipped', '--data', {str(tmp_path / 'absent.h5')!r}, '--out', "
        f"{str(tmp_path / 'run')!r}, '--verbose', '0', 'train.xla=off', 'train.xla_elementwise=on'])\n"
        "print('RC', rc, 'FLAGS', os.environ.get('TF_XLA_FLAGS'))\n")
    env = dict(os.environ)
    env.pop("TF_XLA_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "RC 2 FLAGS --tf_xla_auto_jit=2 --tf_xla_cpu_global_jit --tf_xla_ops_to_cluster=FUSIBLE" in out.stdout, (
        out.stdout + out.stderr[-2000:])
    assert "element-wise XLA clusters: on (train.xla_elementwise=on)" in out.stderr, out.stderr[-3000:]
