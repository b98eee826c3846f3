"""Training: learning, kill -9 + resume, MirroredStrategy, NaN guard, ProGAN growth, CLI errors.

Most tests use ``tiny`` at resolutions (8, 16) (tests/support/train_helpers.py): tracing the full five-block
train step takes about a minute on 2 CPU cores, so only the learning test uses all five blocks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from support.paths import REPO, TESTS
from support.train_helpers import small_config, synthetic_source


class StepRecorder:
    """Per-step loss values recovered from fit()'s running means (value_k = k*m_k - (k-1)*m_{k-1})."""

    def __new__(cls, keys):
        import keras

        class _Recorder(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.keys = keys
                self.steps: dict[int, dict[str, float]] = {}
                self._prev: dict[str, float] = {}

            def on_epoch_begin(self, epoch, logs=None):
                self._prev = {}

            def on_train_batch_end(self, batch, logs=None):
                k = batch + 1
                step = int(self.model.g_optimizer.iterations.numpy())
                vals = {}
                for key in self.keys:
                    m = float(logs[key])
                    vals[key] = k * m - (k - 1) * self._prev.get(key, 0.0)
                    self._prev[key] = m
                self.steps[step] = vals

        return _Recorder()


def _read_state_file(path: Path) -> dict[str, list[np.ndarray]]:
    with h5py.File(path, "r") as f:
        out = {g: [f[g][str(i)][()] for i in range(int(f[g].attrs["count"]))]
               for g in ("generator", "discriminators", "g_optimizer", "d_optimizer")}
        out["state"] = json.loads(f.attrs["state"])
    return out


# ------------------------------------------------------------------------------------ learning
@pytest.mark.slow
def test_tiny_overfits_a_few_faces(tmp_path):
    """Full five-block tiny cascade (all adversarial pairs on), 4 faces: L_pixel of block_128 falls."""
    from facehalluc.train.run import DataSource, train

    cfg = small_config((8, 16, 32, 64, 128), ["train.checkpoint_every_steps=0"])
    src = synthetic_source(cfg, tmp_path, n=8, steps_per_epoch=20)
    rec = StepRecorder([f"b{r}_pixel" for r in cfg.model.resolutions] + ["g_total"])
    res = train(cfg, tmp_path / "run", DataSource(src.train, 20, None), epochs=6, verbose=0,
                extra_callbacks=[rec])
    hist = res.history
    assert len(hist) == 6 and res.state.global_step == 120
    # per-step L_pixel of block_128: the last 10 steps against the first step
    first = rec.steps[1]["b128_pixel"]
    last = float(np.mean([rec.steps[k]["b128_pixel"] for k in range(111, 121)]))
    assert last < 0.7 * first, (first, last)
    # epoch means fall too, for every block together
    tot = lambda h: sum(h[f"b{r}_pixel"] for r in cfg.model.resolutions)  # noqa: E731
    assert tot(hist[-1]) < 0.75 * tot(hist[0]), (tot(hist[0]), tot(hist[-1]))
    assert hist[-1]["b128_pixel"] < hist[0]["b128_pixel"]
    assert (tmp_path / "run" / "samples" / "epoch_006.png").is_file()
    assert (tmp_path / "run" / "loss_curves.png").is_file()


# ------------------------------------------------------------------------------ kill + resume
_KILLED_RUN = r"""
import os, signal, sys
sys.path.insert(0, {tests!r})
import keras
from support.train_helpers import small_config, synthetic_source
from facehalluc.train.run import train

class Kill(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations.numpy()) == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)

cfg = small_config(overrides={overrides!r})
src = synthetic_source(cfg, {tmp!r}, n=16, steps_per_epoch=4)
train(cfg, {run!r}, src, epochs=2, verbose=0, extra_callbacks=[Kill()])
"""


@pytest.mark.slow
def test_kill9_and_resume_matches_uninterrupted_run(tmp_path):
    from facehalluc.train.run import train

    overrides = ["train.checkpoint_every_steps=3"]
    cfg = small_config(overrides=overrides)
    keys = ["b8_pixel", "b16_pixel", "b8_adv", "b16_adv", "b8_d", "b16_d", "g_total", "d_total"]

    # uninterrupted reference: 2 epochs x 4 steps
    src = synthetic_source(cfg, tmp_path, n=16, steps_per_epoch=4)
    ref_rec = StepRecorder(keys)
    train(cfg, tmp_path / "ref", src, epochs=2, verbose=0, extra_callbacks=[ref_rec])

    # the same run, SIGKILLed right after step 7 (last checkpoint: step 6, mid-epoch 2)
    run = tmp_path / "killed"
    code = _KILLED_RUN.format(tests=str(TESTS), kill_at=7, overrides=overrides, tmp=str(tmp_path),
                              run=str(run))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == -9, proc.stderr[-3000:]
    state = _read_state_file(run / "checkpoint" / "state.h5")["state"]
    assert state["global_step"] == 6 and state["stage_step"] == 6 and state["epoch"] == 1
    assert not [p for p in (run / "checkpoint").iterdir() if p.name.startswith(".tmp-")]

    # resume: steps 7 and 8 again
    rec = StepRecorder(keys)
    res = train(cfg, run, src, epochs=2, resume=True, verbose=0, extra_callbacks=[rec])
    assert res.state.global_step == 8 and sorted(rec.steps) == [7, 8]
    for step in (7, 8):
        for k in keys:
            np.testing.assert_allclose(rec.steps[step][k], ref_rec.steps[step][k], rtol=2e-4, atol=2e-5,
                                       err_msg=f"step {step} {k}")
    a = _read_state_file(tmp_path / "ref" / "checkpoint" / "state.h5")
    b = _read_state_file(run / "checkpoint" / "state.h5")
    assert a["state"] == b["state"] and b["state"]["epoch"] == 2
    for group in ("g_optimizer", "d_optimizer", "generator", "discriminators"):
        assert len(a[group]) == len(b[group])
        for x, y in zip(a[group], b[group]):
            np.testing.assert_allclose(x, y, rtol=1e-3, atol=1e-5, err_msg=group)
    # the optimizer state is really there: 8 iterations and non-zero Adam moments
    assert int(b["g_optimizer"][0]) == 8 and int(b["d_optimizer"][0]) == 8
    assert max(float(np.abs(v).max()) for v in b["g_optimizer"][2:]) > 0
    # one history line per epoch, even across the kill
    assert [h["epoch"] for h in res.history] == [1, 2]


def test_existing_checkpoint_needs_resume_flag(tmp_path):
    from facehalluc.train.run import train
    from facehalluc.store.spec import RunDirError

    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "state.h5").write_bytes(b"x")
    cfg = small_config()
    with pytest.raises(RunDirError, match="--resume"):
        train(cfg, tmp_path, synthetic_source(cfg, tmp_path / "d", n=16))


# ------------------------------------------------------------------------------- NaN guard
@pytest.mark.slow
def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path):
    from facehalluc.train.callbacks import TrainingDiverged
    from facehalluc.train.run import DataSource, train

    cfg = small_config(overrides=["train.checkpoint_every_steps=2"])
    src = synthetic_source(cfg, tmp_path, n=16, steps_per_epoch=4, nan_after=4)  # batch index 4 = step 5
    with pytest.raises(TrainingDiverged, match="global step 5"):
        train(cfg, tmp_path / "run", DataSource(src.train, 4, None), epochs=3, verbose=0)
    saved = _read_state_file(tmp_path / "run" / "checkpoint" / "state.h5")
    assert saved["state"]["global_step"] == 4
    assert all(np.isfinite(v).all() for g in ("generator", "g_optimizer") for v in saved[g])
    with h5py.File(tmp_path / "run" / "generator.weights.h5", "r") as f:
        vals = []
        f.visititems(lambda k, v: vals.append(v[()]) if isinstance(v, h5py.Dataset) else None)
    assert vals and all(np.isfinite(v).all() for v in vals)


# ------------------------------------------------------------------------------ strategies
_MIRRORED = r"""
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {tests!r})
import keras
from support.train_helpers import small_config, synthetic_source
from facehalluc.losses import build_loss_networks
from facehalluc.models import build_cascade
from facehalluc.train.trainer import GANTrainer, build_discriminators, make_optimizers

cfg = small_config()
src = synthetic_source(cfg, {tmp!r}, n=16)
batch = next(iter(src.train(0)))
out = {{}}
for name, strategy in (("single", tf.distribute.get_strategy()),
                       ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        g = build_cascade(cfg)
        t = GANTrainer(g, build_discriminators(cfg.model.resolutions, cfg), cfg, build_loss_networks(cfg))
        t.compile(*make_optimizers(cfg))
    if name == "single":
        y = g({{k: batch[k] for k in t.input_keys}})
        out["ref_pixel"] = {{r: float(np.mean(np.abs(np.asarray(batch[f"full_{{r}}"]) - np.asarray(y[f"out_{{r}}"]))))
                            for r in cfg.model.resolutions}}
    ds = tf.data.Dataset.from_tensors(batch).repeat(2)
    h = t.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
    out[name] = {{k: float(v[0]) for k, v in h.history.items()}}
    out[name + "_replicas"] = strategy.num_replicas_in_sync
print("RESULT" + json.dumps(out))
"""


@pytest.mark.slow
def test_mirrored_strategy_two_cpu_devices_same_first_step(tmp_path):
    code = _MIRRORED.format(tests=str(TESTS), tmp=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert out["single_replicas"] == 1 and out["mirrored_replicas"] == 2
    for r in (8, 16):
        # the reported L_pixel equals an independent numpy computation on the initial generator
        assert out["single"][f"b{r}_pixel"] == pytest.approx(out["ref_pixel"][str(r)], rel=1e-5)
        # terms computed before any update and not touching batch-norm statistics agree across devices
        for term in ("pixel", "tv", "pc", "id"):
            assert out["mirrored"][f"b{r}_{term}"] == pytest.approx(out["single"][f"b{r}_{term}"],
                                                                    rel=1e-5, abs=1e-7), term
        assert np.isfinite(out["mirrored"][f"b{r}_d"])


# ---------------------------------------------------------------------------------- ProGAN
def test_progan_growth_copies_layers_by_depth_from_bottleneck():
    from facehalluc.config import load_config
    from facehalluc.models import build_generator_block
    from facehalluc.train.progan import corresponding_layer_name, grow_block

    assert corresponding_layer_name("block_32_conv3", 32) == "block_16_conv2"
    assert corresponding_layer_name("block_32_rb3_a", 32) == "block_16_rb2_a"
    assert corresponding_layer_name("block_32_conv1", 32) is None
    assert corresponding_layer_name("block_32_conv0", 32) == "block_16_conv0"
    assert corresponding_layer_name("block_32_dec_conv2", 32) == "block_16_dec_conv2"
    cfg = load_config("tiny")
    b8, b16 = build_generator_block(8, cfg), build_generator_block(16, cfg)
    copied = grow_block(b16, b8)
    # block_8 flattens 8x8x1024 (no stride at 8x8), so fc1 differs; block_16 on flattens 4x4x1024
    assert {"block_16_conv0", "block_16_fc2", "block_16_rb2_a", "block_16_rb2_b",
            "block_16_dec_conv1"} <= set(copied)
    assert not {"block_16_conv1", "block_16_rb1_a", "block_16_fc1"} & set(copied)
    b32 = build_generator_block(32, cfg)
    copied32 = grow_block(b32, b16)
    assert {"block_32_fc1", "block_32_fc2", "block_32_rb3_a", "block_32_rb2_b", "block_32_conv3",
            "block_32_dec_conv2"} <= set(copied32)
    np.testing.assert_array_equal(b16.get_layer("block_16_fc2").kernel.numpy(),
                                  b8.get_layer("block_8_fc2").kernel.numpy())
    np.testing.assert_array_equal(b16.get_layer("block_16_rb2_a").kernel.numpy(),
                                  b8.get_layer("block_8_rb1_a").kernel.numpy())


@pytest.mark.slow
def test_progan_regime_trains_stages_and_exports_top_block(tmp_path):
    from facehalluc.train import load_generator
    from facehalluc.train.run import DataSource, train

    cfg = small_config(overrides=["train.regime=progan", "train.checkpoint_every_steps=0",
                                  "train.snapshot_epochs=(2)"])
    src = synthetic_source(cfg, tmp_path, n=16, steps_per_epoch=2)
    res = train(cfg, tmp_path / "run", DataSource(src.train, 2, None), epochs=1, verbose=0)
    assert [h["stage"] for h in res.history] == [0, 1]
    assert "b8_pixel" in res.history[0] and "b16_pixel" in res.history[1] and "b8_pixel" not in res.history[1]
    assert (tmp_path / "run" / "stages" / "block_8.weights.h5").is_file()
    assert (tmp_path / "run" / "snapshots" / "epoch_002_block_16.weights.h5").is_file()
    model, cfg2 = load_generator(tmp_path / "run")
    assert cfg2.train.regime == "progan" and list(model.output) == ["out_16"]


# -------------------------------------------------------------------------------------- CLI
def test_train_py_help():
    proc = subprocess.run([sys.executable, "train.py", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    for flag in ("--config", "--data", "--out", "--epochs", "--steps-per-epoch", "--resume", "--strategy",
                 "--mixed-precision", "--xla"):
        assert flag in proc.stdout


def test_paper_without_converted_weights_exits_2_with_the_command(tmp_path, monkeypatch, capsys):
    from facehalluc.train.cli import main

    monkeypatch.setenv("FACEHALLUC_WEIGHTS", str(tmp_path / "empty_cache"))
    rc = main(["--config", "paper", "--data", str(tmp_path / "none.h5"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "python -m facehalluc.weights" in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("option", ["train.mixed_precision=true",
                                    pytest.param("train.xla=true", marks=pytest.mark.slow),  # XLA compile: ~45 s
                                    "train.mixed_precision=true,train.mixed_precision_dtype=bfloat16"])
def test_mixed_precision_and_xla_train_and_restore_policy(tmp_path, option):
    import keras

    from facehalluc.train.run import DataSource, train

    cfg = small_config(overrides=[*option.split(","), "train.checkpoint_every_steps=0"])
    ref_cfg = small_config(overrides=["train.checkpoint_every_steps=0"])
    src = synthetic_source(cfg, tmp_path, n=16, steps_per_epoch=2)
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["policy"] = keras.mixed_precision.global_policy().name
            seen["opt"] = type(self.model.g_optimizer).__name__
            seen["jit"] = self.model.jit_compile

    res = train(cfg, tmp_path / "run", DataSource(src.train, 2, None), epochs=1, verbose=0, extra_callbacks=[Probe()])
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert np.isfinite(res.history[-1]["g_total"])
    if "bfloat16" in option:  # no loss scaling: bfloat16 has float32's exponent range
        assert seen["policy"] == "mixed_bfloat16" and seen["opt"] == "Adam"
    elif "mixed" in option:
        assert seen["policy"] == "mixed_float16" and seen["opt"] == "LossScaleOptimizer"
    else:
        assert seen["jit"] is True and seen["opt"] == "Adam"
        # XLA computes the same losses as the default graph (same seed, same batches)
        ref = train(ref_cfg, tmp_path / "ref", DataSource(src.train, 2, None), epochs=1, verbose=0)
        assert res.history[-1]["b16_pixel"] == pytest.approx(ref.history[-1]["b16_pixel"], rel=1e-3)


def test_fit_builds_no_unused_optimizer_slots(tmp_path):
    """Only g_optimizer / d_optimizer hold slots; keras.Model.compile's placeholder optimizer stays empty
    (under a tf.distribute strategy fit() built it over every G and D variable: one unused slot per
    parameter, 1.6 GB at paper width)."""
    import keras
    import tensorflow as tf

    from facehalluc.losses import build_loss_networks
    from facehalluc.models import build_cascade
    from facehalluc.train.trainer import GANTrainer, build_discriminators, make_optimizers

    cfg = small_config()
    src = synthetic_source(cfg, tmp_path, n=8)
    # under a tf.distribute strategy fit() runs Keras' symbolic build, which builds an unbuilt optimizer
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        t = GANTrainer(build_cascade(cfg), build_discriminators(cfg.model.resolutions, cfg), cfg,
                       build_loss_networks(cfg))
        g_opt, d_opt = make_optimizers(cfg)
        t.compile(g_opt, d_opt)
    t.fit(tf.data.Dataset.from_tensors(next(iter(src.train(0)))).repeat(2), epochs=1, steps_per_epoch=1, verbose=0)
    n_params = len(t.generator.trainable_variables) + len(t.d_trainable_variables)
    assert len(g_opt.variables) + len(d_opt.variables) >= 2 * n_params  # Adam: two slots per variable
    assert all(len(v.shape) == 0 for v in t.optimizer.variables), [v.path for v in t.optimizer.variables]
    assert int(g_opt.iterations.numpy()) == 1 and isinstance(t.optimizer, keras.optimizers.Optimizer)
