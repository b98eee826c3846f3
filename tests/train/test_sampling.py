"""Style noise and conditional IMLE (issue 23): the noise input, the warm start, the IMLE choice, sampling."""
from __future__ import annotations

import json

import numpy as np
import pytest

from support.train_helpers import small_config, synthetic_source


def _noise_cfg(extra=()):
    return small_config((8, 16), ["model.noise_channels=2", "model.noise_resolutions=(8,)", *extra])


def test_noise_inputs_only_when_asked_and_config_checks():
    from facehalluc.config import ConfigError, load_config
    from facehalluc.models import build_cascade, noise_shapes

    plain = small_config((8, 16))
    assert noise_shapes(plain) == {}
    assert sorted(build_cascade(plain).input) == ["mask_16", "mask_8", "masked_16", "masked_8"]
    cfg = _noise_cfg()
    assert noise_shapes(cfg) == {"noise_8": (8, 8, 2)}
    assert "noise_8" in build_cascade(cfg).input
    assert load_config("paper").model.noise_channels == 0  # the paper's cascade has no noise
    with pytest.raises(ConfigError, match="imle_samples needs a noise input"):
        small_config((8, 16), ["loss.imle_samples=4"])
    with pytest.raises(ConfigError, match="0 \\(off\\) or >= 2"):
        _noise_cfg(["loss.imle_samples=1"])
    with pytest.raises(ConfigError, match="noise_resolutions"):
        small_config((8, 16), ["model.noise_channels=2", "model.noise_resolutions=(32,)"])


def test_warm_start_from_a_noise_free_model_is_the_same_function(tmp_path):
    """Zero weights for the new noise channels: every block output equals the source's, whatever the noise."""
    from facehalluc.models import build_inference_model
    from facehalluc.train.init_from import widen_for_noise
    from facehalluc.store.build import build_generator

    src_cfg, cfg = small_config((8, 16)), _noise_cfg()
    src, dst = build_generator(src_cfg), build_generator(cfg)
    arrays = {v.path: np.asarray(v.value) for v in src.weights}
    widened_arrays, widened = widen_for_noise(arrays, dst)
    assert widened == ["block_8_conv0/kernel"]
    k = widened_arrays["block_8_conv0/kernel"]
    assert k.shape[2] == 3 + 2 and not k[:, :, 3:].any() and np.array_equal(k[:, :, :3], arrays[widened[0]])
    for v in dst.weights:
        v.assign(widened_arrays[v.path])
    rng = np.random.default_rng(0)
    x = rng.random((2, 16, 16, 3)).astype(np.float32)
    x[:, :5] = 0.0
    a = build_inference_model(src, src_cfg, all_outputs=True)(x)
    b = build_inference_model(dst, cfg, all_outputs=True)([x, rng.standard_normal((2, 8, 8, 2)).astype("f4")])
    for key in a:  # the same graph but for a concat of zero-weighted channels: exactly equal
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))


def test_imle_keeps_the_draw_closest_to_the_ground_truth(tmp_path):
    import tensorflow as tf

    from facehalluc.losses import build_loss_networks
    from facehalluc.store.build import build_generator
    from facehalluc.train.trainer import GANTrainer

    cfg = _noise_cfg(["loss.imle_samples=3", "loss.use_adv=false"])
    gen = build_generator(cfg)
    # make the noise matter a lot, so that the three draws give clearly different outputs
    k = gen.get_layer("block_8").get_layer("block_8_conv0").kernel
    k.assign(np.concatenate([k.numpy()[:, :, :3], np.full_like(k.numpy()[:, :, 3:], 0.5)], axis=2))
    trainer = GANTrainer(gen, {}, cfg, build_loss_networks(cfg))
    src = synthetic_source(cfg, tmp_path, n=8)
    data = next(iter(src.train(0)))
    n = int(data["masked_8"].shape[0])
    rng = np.random.default_rng(3)
    draws = rng.standard_normal((3 * n, 8, 8, 2)).astype(np.float32)
    trainer.draw_noise = lambda batch, seed=None: {"noise_8": tf.constant(draws)}
    chosen = trainer.imle_inputs(data)["noise_8"].numpy()
    # by hand: each draw's L1 on the hallucinated region, per block, summed
    dist = np.zeros((3, n))
    base = {key: np.asarray(data[key]) for key in trainer.input_keys}
    for i in range(3):
        out = gen({**base, "noise_8": draws[i * n:(i + 1) * n]}, training=False)
        for r in (8, 16):
            ctx = 1.0 - np.asarray(data[f"mask_{r}"])
            err = np.abs(np.asarray(out[f"out_{r}"]) - np.asarray(data[f"full_{r}"])) * ctx
            dist[i] += err.mean(axis=(1, 2, 3))
    best = dist.argmin(axis=0)
    assert len(set(best.tolist())) > 1 or np.ptp(dist, axis=0).min() > 0  # the choice is not trivially draw 0
    for j in range(n):
        np.testing.assert_array_equal(chosen[j], draws[best[j] * n + j])


def test_training_with_imle_runs_and_moves_the_noise_weights(tmp_path):
    from facehalluc.train import train

    cfg = _noise_cfg(["loss.imle_samples=2", "loss.use_adv=false", "train.g_lr=1e-3"])
    src = synthetic_source(cfg, tmp_path, n=8)
    train(cfg, tmp_path / "run", src, epochs=1, steps_per_epoch=2, verbose=0)
    from facehalluc.store.build import build_generator

    gen = build_generator(cfg)
    gen.load_weights(str(tmp_path / "run" / "generator.weights.h5"))
    k = gen.get_layer("block_8").get_layer("block_8_conv0").kernel.numpy()
    assert k.shape[2] == 5 and np.abs(k[:, :, 3:]).max() > 0
    hist = [json.loads(x) for x in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert np.isfinite(hist[-1]["g_total"])


def _random_pair(seed: int, n: int, face_share: float):
    """Random face masks (``face_share`` of the pixels face), two random output sets and two noise draws for
    blocks 8 and 16 (noise at block 8, 2 channels): the inputs of the trainer's diversity ratios."""
    rng = np.random.default_rng(seed)
    data = {f"mask_{r}": (rng.random((n, r, r, 1)) > 1.0 - face_share).astype(np.float32) for r in (8, 16)}
    outs = {f"out_{r}": rng.random((n, r, r, 3)).astype(np.float32) for r in (8, 16)}
    outs_b = {f"out_{r}": rng.random((n, r, r, 3)).astype(np.float32) for r in (8, 16)}
    z, z_b = ({"noise_8": rng.standard_normal((n, 8, 8, 2)).astype(np.float32)} for _ in range(2))
    return data, outs, outs_b, z, z_b


def test_diversity_ratio_by_hand_and_config_checks(tmp_path):
    """d = mean_r(mean over the hallucinated pixels of the channel-mean |out - out_b|) / mean|z - z_b|."""
    from facehalluc.config import ConfigError
    from facehalluc.losses import build_loss_networks
    from facehalluc.store.build import build_generator
    from facehalluc.train.trainer import GANTrainer

    with pytest.raises(ConfigError, match="diversity_weight needs a noise input"):
        small_config((8, 16), ["loss.diversity_weight=1.0"])
    with pytest.raises(ConfigError, match="diversity_cap > 0"):
        _noise_cfg(["loss.diversity_weight=1.0", "loss.diversity_cap=0"])
    cfg = _noise_cfg(["loss.diversity_weight=1.0", "loss.use_adv=false"])
    trainer = GANTrainer(build_generator(cfg), {}, cfg, build_loss_networks(cfg))
    assert "diversity" in [m.name for m in trainer.metrics]
    n = 2
    data, outs, outs_b, z, z_b = _random_pair(seed=5, n=n, face_share=0.5)
    got = trainer.diversity_ratio(data, outs, outs_b, z, z_b).numpy()
    for i in range(n):
        per_block = []
        for r in (8, 16):
            ctx = 1.0 - data[f"mask_{r}"][i, :, :, 0]
            diff = np.abs(outs[f"out_{r}"][i] - outs_b[f"out_{r}"][i]).mean(axis=-1)
            per_block.append((diff * ctx).sum() / ctx.sum())
        want = np.mean(per_block) / (np.abs(z["noise_8"][i] - z_b["noise_8"][i]).mean() + 1e-5)
        # float32 sums of <= 256 terms in [0, 1]: relative rounding well under 1e-5
        np.testing.assert_allclose(got[i], want, rtol=1e-5)


def test_edge_diversity_ratio_by_hand_shift_invariance_and_config_checks(tmp_path):
    """d_edge = mean_r(mean of the two directions' mean over hallucinated neighbour pairs of the channel-mean
    |(out - out_b)[next] - (out - out_b)[this]|) / mean|z - z_b|; a uniform shift between the samples gives 0."""
    import tensorflow as tf

    from facehalluc.config import ConfigError
    from facehalluc.losses import build_loss_networks
    from facehalluc.store.build import build_generator
    from facehalluc.train.trainer import GANTrainer

    with pytest.raises(ConfigError, match="diversity_edge_weight needs a noise input"):
        small_config((8, 16), ["loss.diversity_edge_weight=1.0"])
    with pytest.raises(ConfigError, match="diversity_edge_cap > 0"):
        _noise_cfg(["loss.diversity_edge_weight=1.0", "loss.diversity_edge_cap=0"])
    cfg = _noise_cfg(["loss.diversity_edge_weight=2.0", "loss.use_adv=false", "loss.use_pc=false",
                      "loss.use_id=false"])
    trainer = GANTrainer(build_generator(cfg), {}, cfg, build_loss_networks(cfg))
    names = [m.name for m in trainer.metrics]
    assert "diversity_edge" in names and "diversity" not in names
    n = 2
    data, outs, outs_b, z, z_b = _random_pair(seed=6, n=n, face_share=0.6)
    got = trainer.edge_diversity_ratio(data, outs, outs_b, z, z_b).numpy()
    for i in range(n):
        per_block = []
        for r in (8, 16):
            ctx = 1.0 - data[f"mask_{r}"][i, :, :, 0]
            delta = outs[f"out_{r}"][i] - outs_b[f"out_{r}"][i]
            sums = []
            for y0, x0, y1, x1 in ((0, 0, 1, 0), (0, 0, 0, 1)):  # vertical, horizontal neighbours
                s, c = 0.0, 0.0
                for y in range(r - y1):
                    for x in range(r - x1):
                        both = ctx[y, x] * ctx[y + y1, x + x1]
                        s += both * np.abs(delta[y + y1, x + x1] - delta[y, x]).mean()
                        c += both
                sums.append(s / c)
            per_block.append(0.5 * (sums[0] + sums[1]))
        want = np.mean(per_block) / (np.abs(z["noise_8"][i] - z_b["noise_8"][i]).mean() + 1e-5)
        # float32 sums of <= 240 terms in [0, 1]: relative rounding well under 1e-5
        np.testing.assert_allclose(got[i], want, rtol=1e-5)
    shifted = {k: v + np.float32(0.25) for k, v in outs.items()}  # out_b = out + 0.25: another colour, same edges
    assert float(tf.reduce_max(tf.abs(trainer.edge_diversity_ratio(data, outs, shifted, z, z_b)))) < 1e-6
    assert float(tf.reduce_min(trainer.diversity_ratio(data, outs, shifted, z, z_b))) > 0.1  # the pixel ratio sees it
    # one train step with the edge term on: it runs, records the tracker, and its loss is finite
    from facehalluc.train.trainer import make_optimizers

    trainer.compile(*make_optimizers(cfg))
    batch = next(iter(synthetic_source(cfg, tmp_path, n=4).train(0)))
    logs = trainer.train_step(batch)
    assert np.isfinite(float(logs["g_total"])) and float(logs["diversity_edge"]) >= 0.0


def test_diversity_band_leaves_out_the_pixels_next_to_the_face_by_hand(tmp_path):
    """loss.diversity_band_px = 3 with blocks (8, 16): band 3 px at 16 and floor(3 * 8 / 16 + 0.5) = 2 px at 8; the
    region is the context pixels farther than that (Chebyshev) from every face pixel; 0 = the whole context."""
    from facehalluc.config import ConfigError
    from facehalluc.losses import build_loss_networks
    from facehalluc.store.build import build_generator
    from facehalluc.train.trainer import GANTrainer

    with pytest.raises(ConfigError, match="diversity_band_px must be >= 0"):
        _noise_cfg(["loss.diversity_weight=1.0", "loss.diversity_band_px=-1"])
    data, outs, outs_b, z, z_b = _random_pair(seed=7, n=2, face_share=0.05)
    data = {k: v * 0 for k, v in data.items()}
    data["mask_16"][0, 5, 9, 0] = 1.0  # one face pixel near the middle, one in a corner
    data["mask_16"][1, 0, 15, 0] = 1.0
    data["mask_8"][0, 2, 4, 0] = 1.0
    data["mask_8"][1, 7, 0, 0] = 1.0
    regions = {}
    for band in (0, 3):
        cfg = _noise_cfg(["loss.diversity_weight=1.0", f"loss.diversity_band_px={band}", "loss.use_adv=false"])
        trainer = GANTrainer(build_generator(cfg), {}, cfg, build_loss_networks(cfg))
        regions[band] = {r: trainer.diversity_context(data, r).numpy()[..., 0] for r in (8, 16)}
        got = trainer.diversity_ratio(data, outs, outs_b, z, z_b).numpy()
        for i in range(2):
            per_block = []
            for r, b in ((8, 2 if band else 0), (16, band)):
                ys, xs = np.nonzero(data[f"mask_{r}"][i, :, :, 0])
                yy, xx = np.mgrid[:r, :r]
                far = np.ones((r, r), bool)
                for y, x in zip(ys, xs):
                    far &= np.maximum(np.abs(yy - y), np.abs(xx - x)) > b
                np.testing.assert_array_equal(regions[band][r][i], far.astype(np.float32))
                diff = np.abs(outs[f"out_{r}"][i] - outs_b[f"out_{r}"][i]).mean(axis=-1)
                per_block.append(diff[far].mean())
            want = np.mean(per_block) / (np.abs(z["noise_8"][i] - z_b["noise_8"][i]).mean() + 1e-5)
            np.testing.assert_allclose(got[i], want, rtol=1e-5)  # float32 sums of <= 256 terms, as above
    # counted by hand: a 7 x 7 square around (5, 9) at 16 (49 px), a 4 x 4 corner at 16, 5 x 5 at 8 and 3 x 3
    assert [int((1 - regions[3][16][i]).sum()) for i in range(2)] == [49, 16]
    assert [int((1 - regions[3][8][i]).sum()) for i in range(2)] == [25, 9]
    assert [int((1 - regions[0][r][i]).sum()) for r in (8, 16) for i in range(2)] == [1, 1, 1, 1]


def test_the_diversity_term_makes_the_samples_differ(tmp_path):
    """Same start, data and noise draws; only loss.diversity_weight differs (1e-9 keeps the same two-draw pass;
    10 makes the term outweigh the pixel loss, whose gradient also moves the noise kernels):
    over steps 6-10 the weighted run's d on a fixed pair of noises is several times the other's.

    g_lr 3e-3 and d averaged over the last 5 steps: the earlier form (g_lr 1e-2, d after step 10 alone) was
    chaotic, and float round-off alone flipped it (seed 0: ratio 72 with the space-to-batch dilated convolutions,
    0.04 with the native ones, whose gradients agree to 1e-6; the trajectories part at step 8)."""
    import keras
    import tensorflow as tf

    from facehalluc.losses import build_loss_networks
    from facehalluc.store.build import build_generator
    from facehalluc.train.trainer import GANTrainer, make_optimizers

    start = None
    final = {}
    for weight in (1e-9, 10.0):
        cfg = _noise_cfg([f"loss.diversity_weight={weight}", "loss.diversity_cap=10.0", "loss.use_adv=false",
                          "loss.use_pc=false", "loss.use_tv=false", "loss.use_id=false", "train.g_lr=3e-3"])
        keras.utils.set_random_seed(0)
        gen = build_generator(cfg)
        if start is None:
            k = gen.get_layer("block_8").get_layer("block_8_conv0").kernel
            k.assign(tf.concat([k[:, :, :3], tf.zeros_like(k[:, :, 3:])], axis=2))  # noise-free start: d = 0
            start = [v.numpy() for v in gen.weights]
        for v, a in zip(gen.weights, start):
            v.assign(a)
        trainer = GANTrainer(gen, {}, cfg, build_loss_networks(cfg))
        trainer.compile(*make_optimizers(cfg))
        data = next(iter(synthetic_source(cfg, tmp_path / str(weight), n=8).train(0)))
        rng = np.random.default_rng(11)
        n = int(data["masked_8"].shape[0])
        z, z_b = ({"noise_8": tf.constant(rng.standard_normal((n, 8, 8, 2)).astype(np.float32))} for _ in range(2))
        d0 = trainer.diversity_ratio(data, *(_float32_outs(gen, data, zz) for zz in (z, z_b)), z, z_b)
        assert float(tf.reduce_max(d0)) == 0.0  # zero noise weights: identical outputs
        last = []
        for step in range(10):
            trainer.train_step(data)
            if step >= 5:
                last.append(float(tf.reduce_mean(trainer.diversity_ratio(
                    data, *(_float32_outs(gen, data, zz) for zz in (z, z_b)), z, z_b))))
        final[weight] = float(np.mean(last))
    # seeds 0-2 give ratios 7.6, 13.8, 8.3 (space-to-batch dilated convolutions) and 7.0, 15.1, 8.0 (native ones,
    # fastpath.native_dilated_conv): 3 leaves room for other CPUs' round-off
    assert final[10.0] > 3.0 * final[1e-9], final


def _float32_outs(gen, data, noise):
    import tensorflow as tf

    inputs = {k: data[k] for k in gen.input if k not in noise}
    return {k: tf.cast(v, tf.float32) for k, v in gen({**inputs, **noise}, training=False).items()}


def _stochastic_hallucinator(tmp_path):
    """A 128-px tiny noise model with random weights (its noise kernels are not zero, so samples differ)."""
    from facehalluc.config import load_config
    from facehalluc.infer.engine import from_keras
    from facehalluc.store import build_generator, save_generator

    import keras

    cfg = load_config("tiny", ["model.noise_channels=2", "model.noise_resolutions=(8,16)",
                               "loss.use_pc=false", "loss.use_id=false"])
    keras.utils.set_random_seed(0)  # fixed weights: unseeded, the samples' spread depended on test order (xdist)
    gen = build_generator(cfg)
    run = tmp_path / "noise_run"
    save_generator(run, cfg, gen)
    from facehalluc.models import build_inference_model

    return from_keras(build_inference_model(gen, cfg, all_outputs=True), cfg, run), run, cfg, gen


def _faces(n=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 128, 128, 3)).astype(np.float32)
    mask = np.zeros((n, 128, 128, 1), np.float32)
    mask[:, 40:90, 40:90] = 1.0
    return x * mask, mask


def test_samples_differ_and_the_same_seed_gives_the_same_output(tmp_path):
    from facehalluc.infer.engine import draw_noise

    hal, _, _, _ = _stochastic_hallucinator(tmp_path)
    assert hal.stochastic and hal.noise_shapes == {"noise_8": (8, 8, 2), "noise_16": (16, 16, 2)}
    masked, mask = _faces()
    s1 = hal.sample(masked, mask, k=3, seed=5, keys=[11, 12, 13])
    s2 = hal.sample(masked, mask, k=3, seed=5, keys=[11, 12, 13])
    for a, b in zip(s1, s2):
        np.testing.assert_array_equal(a["out_128"], b["out_128"])
    assert np.abs(s1[0]["out_128"] - s1[1]["out_128"]).max() > 1e-3
    # a face's sample does not depend on its batch: face 12 alone gives the same as in the batch
    alone = hal.sample(masked[1:2], mask[1:2], k=3, seed=5, keys=[12])
    np.testing.assert_allclose(alone[2]["out_128"][0], s1[2]["out_128"][1], atol=1e-6)  # batch-size rounding
    # face pixels are the input's, in every sample
    for s in s1:
        np.testing.assert_array_equal(s["out_128"][mask[..., 0] > 0], masked[mask[..., 0] > 0])
    z = draw_noise(hal.noise_shapes, [(5, 0, 11)])
    assert list(z) == ["noise_8", "noise_16"] and z["noise_8"].dtype == np.float32
    with pytest.raises(ValueError, match="noise\\['noise_8'\\] must be"):
        hal.run(masked, mask, noise={"noise_8": np.zeros((1, 8, 8, 2)), "noise_16": np.zeros((3, 16, 16, 2))})


def test_evaluation_samples_follow_the_row_key_rule_in_any_batching(tmp_path):
    """evaluate.sampling's batches (``sample_batches``, ``draw_samples``): sample j of face i is the hallucinator's
    sample with key = row i, whatever the batch size, and every output block comes back."""
    from facehalluc.evaluate.sampling import draw_samples, sample_batches

    hal, _, _, _ = _stochastic_hallucinator(tmp_path)
    masked, mask = _faces()
    want = hal.sample(masked, mask, k=2, seed=3, keys=[0, 1, 2])
    batches = list(sample_batches(hal, masked, mask, 2, 3, batch_size=2))
    assert [(sl.start, sl.stop) for sl, _ in batches] == [(0, 2), (2, 3)]
    for sl, got in batches:
        for j in (0, 1):
            assert sorted(got[j]) == sorted(want[j])
            for key in want[j]:  # batch-size rounding only (as in the test above)
                np.testing.assert_allclose(got[j][key], want[j][key][sl], atol=1e-6)
    drawn = draw_samples(hal, masked, mask, 2, 3, batch_size=2)
    assert drawn.shape == (3, 2, 128, 128, 3)
    for j in (0, 1):
        np.testing.assert_allclose(drawn[:, j], want[j]["out_128"], atol=1e-6)


def test_a_deterministic_model_gives_one_output_k_times(tiny_config):
    from facehalluc.infer.engine import from_keras
    from facehalluc.models import build_cascade

    hal = from_keras(build_cascade(tiny_config), tiny_config)
    assert not hal.stochastic
    masked, mask = _faces(2)
    s = hal.sample(masked, mask, k=2, seed=1)
    np.testing.assert_array_equal(s[0]["out_128"], s[1]["out_128"])


@pytest.mark.slow
def test_savedmodel_export_takes_the_noise_and_matches_keras(tmp_path):
    from facehalluc.store.export import export_savedmodel
    from facehalluc.infer.engine import draw_noise, from_savedmodel

    hal, run, cfg, gen = _stochastic_hallucinator(tmp_path)
    out = export_savedmodel(run, tmp_path / "sm")
    meta = json.loads((out / "facehalluc_export.json").read_text())
    assert meta["noise_inputs"] == {"noise_8": [8, 8, 2], "noise_16": [16, 16, 2]}
    sm = from_savedmodel(out)
    assert sm.noise_shapes == hal.noise_shapes
    masked, mask = _faces(2)
    z = draw_noise(hal.noise_shapes, [(0, 1), (0, 2)])
    a = hal.run(masked, mask, noise=z)["out_128"]
    b = sm.run(masked, mask, noise=z)["out_128"]
    # the same graph in TensorFlow either way; 1e-5 allows a different op fusion in the restored function
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert np.abs(sm.run(masked, mask, seed=1)["out_128"] - b).max() > 1e-3


def test_infer_cli_writes_k_samples_per_input(tmp_path):
    from PIL import Image

    from facehalluc.infer.cli import main

    _, run, _, _ = _stochastic_hallucinator(tmp_path)
    masked, _ = _faces(2)
    inp = tmp_path / "in"
    inp.mkdir()
    for i, m in enumerate(masked):
        Image.fromarray(np.round(m * 255).astype(np.uint8)).save(inp / f"face{i}.png")
    out = tmp_path / "out"
    assert main(["--model", str(run), "--input", str(inp), "--output", str(out), "--masked", "--samples", "3",
                 "--seed", "4", "--no-progress"]) == 0
    names = sorted(p.name for p in out.glob("face*.png"))
    assert names == [f"face{i}_sample{j}.png" for i in range(2) for j in range(3)]
    report = json.loads((out / "inference_report.json").read_text())
    assert len(report["processed"][0]["samples"]) == 3 and report["processed"][0]["seed"] == 4
    a = np.asarray(Image.open(out / "face0_sample0.png"))
    b = np.asarray(Image.open(out / "face0_sample1.png"))
    assert np.abs(a.astype(int) - b.astype(int)).max() > 0
    again = tmp_path / "again"
    # the same inputs (so the same batches: a batch of another size may sum in another order, and this random
    # model's outputs sit near 0.5, where a 1e-7 difference can flip a pixel between 127 and 128)
    main(["--model", str(run), "--input", str(inp), "--output", str(again), "--masked",
          "--samples", "3", "--seed", "4", "--no-progress"])
    assert np.array_equal(np.asarray(Image.open(again / "face0_sample1.png")), b)  # same seed, same file


def test_web_service_returns_k_samples_for_a_noise_model(tmp_path):
    """The page's API: ``samples=K`` gives K different results; the deterministic shipped model gives none."""
    from support.apps import astronaut_path

    from facehalluc.app import AppError, HallucinationService

    hal, _, _, _ = _stochastic_hallucinator(tmp_path)
    service = HallucinationService(hal, warmup=False)
    assert service.describe()["stochastic"] is True
    res = service.hallucinate(astronaut_path().read_bytes(), "astronaut.png", samples=3, seed=2)
    body = res.to_json()
    assert [s["key"] for s in body["samples"]] == ["sample_0", "sample_1", "sample_2"]
    pics = [s.pixels for s in res.samples]
    assert np.abs(pics[0] - pics[1]).max() > 1e-3
    np.testing.assert_array_equal(pics[0], res.image("out_128").pixels)  # the stages show sample 0
    again = service.hallucinate(astronaut_path().read_bytes(), "astronaut.png", samples=3, seed=2)
    np.testing.assert_array_equal(again.samples[2].pixels, pics[2])
    with pytest.raises(AppError, match="samples must be between"):
        service.hallucinate(b"x", "a.png", samples=0)


def test_augment_per_face_writes_k_different_copies(tmp_path):
    from PIL import Image

    from facehalluc.augment import AugmentError, augment
    from support.apps import face_tree as _face_tree
    from support.apps import read_manifest as _manifest

    hal, _, _, _ = _stochastic_hallucinator(tmp_path)
    src, out = tmp_path / "src", tmp_path / "out"
    faces = _face_tree(src)
    report = augment(hal, src, out, per_face=2, seed=1, progress=False)
    n = sum(len(v) for v in faces.values())
    assert report.n_ok == n
    rel = next(iter(faces.values()))[0]
    stem = rel.rsplit(".", 1)[0]
    a, b = (np.asarray(Image.open(out / f"{stem}_sample{j}.png")) for j in (0, 1))
    assert a.shape == (128, 128, 3) and np.abs(a.astype(int) - b.astype(int)).max() > 0
    rows = [r for r in _manifest(out) if r["status"] == "ok"]
    assert len(rows) == 2 * n and {r["output"] for r in rows if r["source"] == rel} == \
        {f"{stem}_sample0.png", f"{stem}_sample1.png"}
    with pytest.raises(AugmentError, match="--per-face 2 --seed 1"):  # resume refuses other sampling settings
        augment(hal, src, out, per_face=3, seed=1, resume=True, progress=False)


def test_diversity_measures_by_hand():
    from facehalluc.evaluate.sampling import context_sd, lpips_pairwise, real_context_composites

    n, k = 4, 2
    aligned = np.stack([np.full((8, 8, 3), i / 10, np.float32) for i in range(n)])
    masks = np.zeros((n, 8, 8), np.uint8)
    masks[:, 2:6, 2:6] = 1
    comps = real_context_composites(aligned, masks, k)
    assert comps.shape == (n, k, 8, 8, 3)
    assert comps[1, 0, 0, 0, 0] == np.float32(0.2) and comps[1, 1, 0, 0, 0] == np.float32(0.3)  # faces 2, 3
    assert comps[3, 0, 0, 0, 0] == np.float32(0.0)  # wraps around to face 0
    assert np.all(comps[:, :, 2:6, 2:6] == aligned[:, None, 2:6, 2:6])  # the face is face i's own
    # s.d. across two samples: faces 2 and 3 (0.2, 0.3) -> 0.05; faces 3 and 0 (0.3, 0.0) -> 0.15
    np.testing.assert_allclose(context_sd(comps[:3], masks[:3]), [0.05, 0.05, 0.15], rtol=1e-6)
    np.testing.assert_allclose(context_sd(np.repeat(aligned[:, None], 3, axis=1), masks), 0.0)

    class MeanAbs:  # a stand-in distance: mean |a - b| per image
        def __call__(self, ab, training=False):
            return np.abs(ab[0] - ab[1]).mean(axis=(1, 2, 3))

    three = np.stack([aligned, aligned + 0.1, aligned + 0.4], axis=1)  # pairs differ by 0.1, 0.4, 0.3
    np.testing.assert_allclose(lpips_pairwise(three, MeanAbs(), batch_size=3), (0.1 + 0.4 + 0.3) / 3, rtol=1e-5)
    with pytest.raises(ValueError, match="more than K"):
        real_context_composites(aligned[:2], masks[:2], 2)


def test_table2_experiment_with_three_copies_per_face(tmp_path):
    """``--copies 3``: three different hallucinations of each training face, labelled with its identity."""
    import h5py

    from facehalluc.config import load_config
    from facehalluc.data import write_synthetic_dataset
    from facehalluc.recognition.experiment import main
    from facehalluc.store import build_generator, save_generator
    from support.apps import RECOGNITION_TINY as TINY

    h5 = write_synthetic_dataset(tmp_path / "faces.h5", n=48, val_fraction=0.25, seed=0)
    cfg = load_config("tiny", ["model.noise_channels=2", "model.noise_resolutions=(8,16)"])
    save_generator(tmp_path / "gen", cfg, build_generator(cfg))
    out = tmp_path / "exp"
    args = ["--data", str(h5), "--out", str(out), "--seeds", "0", "--model", str(tmp_path / "gen"), *TINY]
    assert main([*args, "--copies", "3", "--noise-seed", "2"]) == 0
    res = json.loads((out / "results.json").read_text())
    aug = res["summary"]["real+halluc"]["data"]
    assert aug["n_halluc"] == 3 * 36 and aug["n_train_images"] == 4 * 36
    caches = res["hallucination"]["caches"]
    assert len(caches) == 3 and res["halluc_source"]["copies"] == 3
    with h5py.File(caches[0]) as a, h5py.File(caches[1]) as b:
        assert not np.array_equal(a["images"][()], b["images"][()])  # the copies differ
    assert res["hallucination"]["face_pixels_max_abs_diff_uint8"] == 0.0
    assert main([*args, "--copies", "0"]) == 2


def test_warm_start_with_random_noise_weights_scales_by_the_kernel_rms():
    from facehalluc.train.init_from import widen_for_noise
    from facehalluc.store.build import build_generator

    src, dst = build_generator(small_config((8, 16))), build_generator(_noise_cfg())
    arrays = {v.path: np.asarray(v.value) for v in src.weights}
    out, widened = widen_for_noise(arrays, dst, init_std=0.5, seed=1)
    k, old = out["block_8_conv0/kernel"], arrays["block_8_conv0/kernel"]
    np.testing.assert_array_equal(k[:, :, :3], old)
    rms_new, rms_old = np.sqrt(np.mean(k[:, :, 3:] ** 2)), np.sqrt(np.mean(old ** 2))
    # 3x3x2xC normal draws: their RMS is within 15 % of 0.5 x the old RMS (relative s.e. ~ 1/sqrt(2*18*C))
    assert abs(rms_new / rms_old - 0.5) < 0.075
    again, _ = widen_for_noise(arrays, dst, init_std=0.5, seed=1)
    np.testing.assert_array_equal(again["block_8_conv0/kernel"], k)  # seeded
