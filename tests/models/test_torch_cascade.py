"""The benchmark's PyTorch re-implementation computes the package's cascade (skipped without PyTorch)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from support.paths import REPO

torch = pytest.importorskip("torch", reason="PyTorch is the optional 'bench' extra (pip install .[bench])")
sys.path.insert(0, str(REPO / "benchmarks"))


@pytest.mark.parametrize("overrides", [[], ["model.skip_mode=add", "model.output_range=raw"]])
def test_torch_cascade_matches_keras(overrides):
    import keras

    from facehalluc.config import load_config
    from facehalluc.models import build_cascade
    from torch_cascade import TorchCascade, copy_keras_weights

    cfg = load_config("tiny", overrides)
    keras.utils.set_random_seed(1)
    cascade = build_cascade(cfg)
    tmodel = TorchCascade(cfg, tf_padding=True)
    copy_keras_weights(cascade, tmodel)
    rng = np.random.default_rng(0)
    feed, masked, mask = {}, {}, {}
    for r in cfg.model.resolutions:
        m = np.zeros((2, r, r, 1), "float32")
        m[:, r // 4: 3 * r // 4, r // 4: 3 * r // 4] = 1
        x = rng.uniform(0, 1, (2, r, r, 3)).astype("float32") * m
        feed.update({f"masked_{r}": x, f"mask_{r}": m})
        masked[r] = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        mask[r] = torch.from_numpy(m.transpose(0, 3, 1, 2).copy())
    ref = cascade(feed, training=False)
    with torch.no_grad():
        got = tmodel(masked, mask)
    for r in cfg.model.resolutions:
        a = np.asarray(ref[f"out_{r}"])
        b = got[r].numpy().transpose(0, 2, 3, 1)
        assert a.shape == b.shape
        # the hallucinated region must differ from the input for the comparison to mean anything
        assert np.abs(a - feed[f"masked_{r}"]).max() > 1e-2
        np.testing.assert_allclose(b, a, atol=2e-5, rtol=1e-4)
