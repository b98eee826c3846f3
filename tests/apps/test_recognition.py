"""facehalluc.recognition: verification scoring (hand-computed ROC), pairs, and the Table 2 experiment
end to end on a tiny synthetic dataset with a random-weight generator (resume, generator change)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from facehalluc.recognition import roc as R

from support.apps import RECOGNITION_TINY

# ------------------------------------------------------------------------------ hand-computed ROC
# 10 pairs, P = 5 genuine, N = 5 impostor.  Score 0.8 is shared by a genuine and an impostor pair and
# 0.6 likewise (ties).
SCORES = [0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.5, 0.4, 0.3, 0.2]
LABELS = [1, 1, 0, 1, 1, 0, 0, 1, 0, 0]
# threshold t (accept s >= t) -> (TP, FP) -> (FPR = FP/5, TPR = TP/5)
#   +inf -> (0, 0) -> (0.0, 0.0)
#   0.9  -> (1, 0) -> (0.0, 0.2)
#   0.8  -> (2, 1) -> (0.2, 0.4)   tie: the genuine and the impostor 0.8 enter together
#   0.7  -> (3, 1) -> (0.2, 0.6)
#   0.6  -> (4, 2) -> (0.4, 0.8)   tie again
#   0.5  -> (4, 3) -> (0.6, 0.8)
#   0.4  -> (5, 3) -> (0.6, 1.0)
#   0.3  -> (5, 4) -> (0.8, 1.0)
#   0.2  -> (5, 5) -> (1.0, 1.0)
HAND_FPR = [0.0, 0.0, 0.2, 0.2, 0.4, 0.6, 0.6, 0.8, 1.0]
HAND_TPR = [0.0, 0.2, 0.4, 0.6, 0.8, 0.8, 1.0, 1.0, 1.0]


def test_roc_curve_matches_hand_computation():
    roc = R.roc_curve(SCORES, LABELS)
    np.testing.assert_allclose(roc.fpr, HAND_FPR)
    np.testing.assert_allclose(roc.tpr, HAND_TPR)
    np.testing.assert_allclose(roc.thresholds, [np.inf, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    assert (roc.n_genuine, roc.n_impostor) == (5, 5)
    # the order of the input does not matter
    perm = np.random.default_rng(0).permutation(10)
    roc2 = R.roc_curve(np.asarray(SCORES)[perm], np.asarray(LABELS)[perm])
    np.testing.assert_allclose(roc2.tpr, HAND_TPR)


def test_tpr_at_fpr_auc_eer_hand_example():
    # FPR <= 0.2 is allowed at thresholds +inf, 0.9, 0.8, 0.7; the largest TPR among them is 0.6 (t = 0.7)
    assert R.tpr_at_fpr(SCORES, LABELS, 0.2) == pytest.approx(0.6)
    # 0.1 falls between FPR 0.0 (TPR 0.2, t = 0.9) and FPR 0.2 (TPR 0.4 at t = 0.8): the step rule keeps 0.2
    assert R.tpr_at_fpr(SCORES, LABELS, 0.1) == pytest.approx(0.2)
    # interpolated: 0.2 + (0.4 - 0.2) * (0.1 - 0.0) / (0.2 - 0.0) = 0.3
    assert R.tpr_at_fpr(SCORES, LABELS, 0.1, interpolate=True) == pytest.approx(0.3)
    # 0.3: thresholds with FPR <= 0.3 are +inf .. 0.7 -> 0.6 (step); interpolated between (0.2, 0.6) and
    # (0.4, 0.8): 0.6 + 0.2 * 0.1 / 0.2 = 0.7
    assert R.tpr_at_fpr(SCORES, LABELS, 0.3) == pytest.approx(0.6)
    assert R.tpr_at_fpr(SCORES, LABELS, 0.3, interpolate=True) == pytest.approx(0.7)
    assert R.tpr_at_fpr(SCORES, LABELS, 0.0) == pytest.approx(0.2)  # t = 0.9 accepts no impostor
    roc = R.roc_curve(SCORES, LABELS)
    # AUC, trapezoids between successive points: 0 + 0.2*(0.2+0.4)/2 + 0 + 0.2*(0.6+0.8)/2 + 0.2*0.8 + 0
    #   + 0.2*1 + 0.2*1 = 0.06 + 0.14 + 0.16 + 0.2 + 0.2 = 0.76.
    # Mann-Whitney check: genuine 0.9 beats 5 impostors, 0.8 beats 4 and ties 1 (4.5), 0.7 beats 4,
    # 0.6 beats 3 and ties 1 (3.5), 0.4 beats 2 -> 19 / 25 = 0.76
    assert R.auc(roc) == pytest.approx(0.76)
    # EER: FPR - FNR is -0.2 at (0.2, 0.6) [FNR 0.4] and +0.2 at (0.4, 0.8) [FNR 0.2]; halfway: 0.3
    assert R.eer(roc) == pytest.approx(0.3)


def test_tpr_at_fpr_001_between_thresholds_with_tie():
    # 4 genuine, 200 impostor pairs.  Impostors: one at 0.95, two at 0.85 (tied with a genuine pair),
    # 197 spread over [0, 0.4].  Genuine: 0.99, 0.9, 0.85, 0.5.
    neg = np.r_[0.95, 0.85, 0.85, np.linspace(0.0, 0.4, 197)]
    pos = np.array([0.99, 0.9, 0.85, 0.5])
    s = np.r_[pos, neg]
    y = np.r_[np.ones(4), np.zeros(200)]
    # t = 0.99: TP 1, FP 0 -> (0.000, 0.25)
    # t = 0.95: TP 1, FP 1 -> (0.005, 0.25)
    # t = 0.90: TP 2, FP 1 -> (0.005, 0.50)
    # t = 0.85: TP 3, FP 3 -> (0.015, 0.75)   the tie: genuine 0.85 cannot be accepted without both impostors
    # t = 0.50: TP 4, FP 3 -> (0.015, 1.00)
    # FPR = 0.01 lies between 0.005 and 0.015: the largest TPR with FPR <= 0.01 is 0.50 (t = 0.9).
    assert R.tpr_at_fpr(s, y, 0.01) == pytest.approx(0.5)
    # a rule that broke the tie in favour of the genuine pair would report 0.75 at FPR 0.005 - wrong.
    # Interpolated: 0.5 + (0.75 - 0.5) * (0.01 - 0.005) / (0.015 - 0.005) = 0.625
    assert R.tpr_at_fpr(s, y, 0.01, interpolate=True) == pytest.approx(0.625)
    assert R.tpr_at_fpr(s, y, 0.015) == pytest.approx(1.0)
    summary = R.summarize(s, y)
    assert summary["tpr@fpr=0.01"] == pytest.approx(0.5) and summary["n_impostor"] == 200
    assert summary["tpr@fpr=0.01_interp"] == pytest.approx(0.625)


def test_roc_rejects_bad_input():
    with pytest.raises(ValueError, match="genuine"):
        R.roc_curve([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="labels"):
        R.roc_curve([0.1, 0.2], [1, 2])
    with pytest.raises(ValueError, match="length"):
        R.roc_curve([0.1, 0.2, 0.3], [1, 0])


def test_pearson_scores_match_numpy_corrcoef():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20, 16)) * rng.uniform(0.1, 5, (20, 1)) + rng.normal(size=(20, 1))
    b = 0.5 * a + rng.normal(size=(20, 16))
    want = [np.corrcoef(a[k], b[k])[0, 1] for k in range(20)]
    np.testing.assert_allclose(R.pearson_scores(a, b), want, rtol=1e-10, atol=1e-12)
    # scale / offset invariance, and the pair version on one matrix
    np.testing.assert_allclose(R.pearson_scores(3 * a + 7, b), want, rtol=1e-10, atol=1e-12)
    i, j = np.array([0, 3, 5]), np.array([1, 4, 19])
    np.testing.assert_allclose(R.pair_scores(a, i, j), [np.corrcoef(a[p], a[q])[0, 1] for p, q in zip(i, j)],
                               rtol=1e-10)
    assert R.pearson_scores(np.ones((1, 4)), a[:1, :4])[0] == 0.0  # constant features: score 0


def test_verification_pairs_counts_and_split():
    ids = ["a", "a", "a", "b", "b", "c", "d", "d", "e"]
    split = np.array([1, 1, 0, 1, 1, 1, 0, 0, 1])
    # all 9 rows: 36 pairs; genuine: a 3*2/2 = 3, b 1, d 1 -> 5; impostor 31
    p = R.verification_pairs(ids)
    assert len(p) == 36 and p.n_genuine == 5 and p.n_impostor == 31
    assert np.all(p.i < p.j)
    # split 1 rows: 0 1 3 4 5 8 (a a b b c e): 15 pairs; genuine a 1 + b 1 = 2; impostor 13
    val = np.flatnonzero(split == 1)
    q = R.verification_pairs(ids, val)
    assert len(q) == 15 and q.n_genuine == 2 and q.n_impostor == 13
    assert set(q.i) | set(q.j) <= set(val.tolist())  # no pair crosses splits
    for i, j, s in zip(q.i, q.j, q.same):
        assert s == (ids[i] == ids[j])
    # every unordered pair exactly once
    assert len({(int(i), int(j)) for i, j in zip(q.i, q.j)}) == 15
    # sampled impostors: all genuine kept
    r = R.verification_pairs(ids, val, max_impostors=4, seed=0)
    assert r.n_genuine == 2 and r.n_impostor == 4


def test_select_training_min_images():
    from facehalluc.recognition.data import FaceIndex, select_training

    ids = np.array(["x", "x", "y", "x", "z", "z", "y", "w"])
    split = np.array([0, 0, 0, 0, 0, 1, 0, 0], np.uint8)
    index = FaceIndex(Path("none.h5"), ids, split, np.array([f"{k}.jpg" for k in range(8)]), "fp")
    t = select_training(index, 2, "train")  # train counts: x 3, y 2, z 1, w 1
    assert t.classes == ["x", "y"] and t.rows.tolist() == [0, 1, 2, 3, 6]
    assert t.labels.tolist() == [0, 0, 1, 0, 1]
    assert select_training(index, 2, "all").classes == ["x", "y", "z"]
    assert select_training(index, 1, "train", max_identities=1).classes == ["x"]


def test_recognizer_shapes_and_resnet50_option():
    import keras

    from facehalluc.recognition.model import RecognizerConfig, build_recognizer

    clf, emb = build_recognizer(5, RecognizerConfig(input_size=32, widths=(8, 16), embedding_dim=12))
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    assert clf(x).shape == (2, 5) and emb(x).shape == (2, 12)
    np.testing.assert_allclose(np.asarray(clf(x)).sum(1), 1.0, rtol=1e-5)
    clf50, emb50 = build_recognizer(7, RecognizerConfig(input_size=64, arch="resnet50", embedding_dim=256))
    assert emb50.output.shape[-1] == 256 and clf50.output.shape[-1] == 7
    assert clf50.count_params() > 23_000_000
    keras.backend.clear_session()


def test_training_is_deterministic_given_seed():
    from facehalluc.recognition.model import RecognizerConfig
    from facehalluc.recognition.train import TrainConfig, embed, train_recognizer

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (24, 16, 16, 3), dtype=np.uint8)
    y = np.arange(24) % 3
    rcfg = RecognizerConfig(input_size=16, widths=(4, 8), embedding_dim=6)
    feats = []
    for _ in range(2):
        _, emb, hist = train_recognizer(x, y, 3, rcfg, TrainConfig(batch_size=8), steps=4, warmup_steps=1,
                                        seed=3, arm="real", progress=False)
        feats.append(embed(emb, x))
    np.testing.assert_array_equal(feats[0], feats[1])
    assert len(hist["loss"]) == 2  # log_every = ceil(24 / 8) = 3 steps: points after steps 3 and 4


# ------------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    """A synthetic dataset (12 identities x 4 faces; 3 val identities) and two random-weight ``tiny``
    generator run directories (different initial weights)."""
    import keras

    from facehalluc.config import load_config
    from facehalluc.data import write_synthetic_dataset
    from facehalluc.models import build_cascade
    from facehalluc.store.run_dir import save_generator

    root = tmp_path_factory.mktemp("recognition")
    h5 = write_synthetic_dataset(root / "faces.h5", n=48, val_fraction=0.25, seed=0)
    cfg = load_config("tiny")
    gens = []
    for k in range(2):
        keras.utils.set_random_seed(k)
        gens.append(root / f"gen{k}")
        save_generator(gens[-1], cfg, build_cascade(cfg))
    return h5, gens


TINY = RECOGNITION_TINY


def _run(args: list[str]) -> dict:
    from facehalluc.recognition.experiment import main

    assert main(args) == 0
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_experiment_end_to_end_and_resume(tiny_setup, tmp_path):
    h5, (gen0, gen1) = tiny_setup
    out = tmp_path / "exp"
    base = ["--data", str(h5), "--out", str(out), "--seeds", "0", "1", *TINY]
    from tensorflow.python.framework import config as tf_config

    was_on = tf_config.is_op_determinism_enabled()
    res = _run([*base, "--model", str(gen0)])
    # determinism is on only during the run: left on, it would turn XLA off for every later model
    assert tf_config.is_op_determinism_enabled() == was_on
    assert res["final"] and sorted(res["summary"]) == ["real", "real+halluc"]
    assert res["command"].startswith("python -m facehalluc.recognition.experiment --data ")
    assert res["train"] == {"n_identities": 9, "n_real": 36, "min_images": 3, "steps_per_real_epoch": 3}
    assert res["eval"]["n_faces"] == 12 and res["eval"]["n_genuine"] == 18 and res["eval"]["n_impostor"] == 48
    assert res["eval"]["n_identities_named_as_training"] == 0
    real, aug = res["summary"]["real"], res["summary"]["real+halluc"]
    assert real["data"]["n_halluc"] == 0 and aug["data"]["n_halluc"] == 36
    assert aug["data"]["n_halluc_identities"] == 9 and aug["data"]["n_train_images"] == 72
    assert real["steps"] == aug["steps"] == 6  # --budget steps: 2 epochs x ceil(36 / 16)
    assert real["metrics"]["tpr@fpr=0.01"]["n"] == 2 and aug["paired_difference_vs_real"]["seeds"] == [0, 1]
    for r in res["runs"]:
        assert 0.0 <= r["metrics"]["tpr@fpr=0.01"] <= 1.0 and 0.0 <= r["metrics"]["auc"] <= 1.0
    assert res["hallucination"]["n"] == 36 and res["hallucination"]["face_pixels_max_abs_diff_uint8"] == 0.0
    assert sorted(res["wall_seconds"]["ran"]) == ["real+halluc/seed0", "real+halluc/seed1", "real/seed0",
                                                  "real/seed1"]
    for name in ("table.md", "roc.png", "samples.png"):
        assert (out / name).is_file()
    table = (out / "table.md").read_text()
    assert "| real + hallucinated" in table and "36 (9)" in table
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*.json")}

    # the same command again: nothing is trained, the cache is reused, the numbers are the same
    res2 = _run([*base, "--model", str(gen0)])
    assert res2["wall_seconds"]["ran"] == [] and len(res2["wall_seconds"]["reused"]) == 4
    assert res2["hallucination"]["reused"] is True
    assert res2["summary"] == res["summary"]
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("*.json")} == before

    # another generator: only the augmented arm is redone (the real arm does not depend on it)
    res3 = _run([*base, "--model", str(gen1), "--arms", "real", "real+halluc"])
    assert sorted(res3["wall_seconds"]["ran"]) == ["real+halluc/seed0", "real+halluc/seed1"]
    assert sorted(res3["wall_seconds"]["reused"]) == ["real/seed0", "real/seed1"]
    assert res3["hallucination"]["reused"] is False
    assert len(list((out / "halluc_cache").glob("*.h5"))) == 2
    assert res3["summary"]["real"] == res["summary"]["real"]


def test_experiment_from_augment_folder_and_errors(tiny_setup, tmp_path):
    import h5py

    from facehalluc.recognition.experiment import main

    h5, _ = tiny_setup
    # a facehalluc.augment-style folder holding copies of half the training faces
    aug = tmp_path / "aug"
    with h5py.File(h5, "r") as f:
        sources = [s.decode() for s in f["source"][()]]
        split = f["split"][()]
        aligned = f["aligned"][()]
    from PIL import Image

    rows = []
    for k, (s, sp) in enumerate(zip(sources, split)):
        if sp == 0 and k % 2 == 0:
            outp = Path(s).with_suffix(".png")
            (aug / outp).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(255 - aligned[k]).save(aug / outp)
            rows.append({"source": s, "output": outp.as_posix(), "identity": s.split("/")[0], "status": "ok"})
    with open(aug / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["source", "output", "identity", "status"])
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "exp"
    res = _run(["--data", str(h5), "--out", str(out), "--halluc-dir", str(aug), "--seeds", "0",
                "--arms", "real+halluc", "real+masked", "--budget", "epochs", *TINY])
    assert res["hallucination"] == {"augment_dir": str(aug), "n": 18, "missing": 18}
    s = res["summary"]["real+halluc"]
    assert s["data"]["n_halluc"] == 18 and s["steps"] == 2 * 4  # --budget epochs: 2 x ceil(54 / 16)
    m = res["summary"]["real+masked"]  # the control arm: every training face's masked input as the copy
    assert m["data"]["n_halluc"] == 0 and m["data"]["n_added"] == 36 and m["steps"] == 2 * 5
    assert "| real + masked copies (control" in (out / "table.md").read_text()
    assert s["paired_difference_vs_real+masked"]["seeds"] == [0] and "paired_difference_vs_real" not in s
    # usage errors: exit status 2, a message
    assert main(["--data", str(tmp_path / "nope.h5"), "--out", str(out), *TINY]) == 2
    assert main(["--data", str(h5), "--out", str(tmp_path / "e2"), *TINY, "--min-images", "50"]) == 2
    assert main(["--data", str(h5), "--out", str(tmp_path / "e3"), "--model", str(tmp_path / "no_model"),
                 *TINY]) == 2


def test_concat_images_indexes_like_concatenate():
    from facehalluc.recognition.train import ConcatImages

    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 255, (5, 2, 2, 3), dtype=np.uint8), rng.integers(0, 255, (3, 2, 2, 3), dtype=np.uint8)
    pool, ref = ConcatImages(a, b), np.concatenate([a, b])
    idx = np.array([7, 0, 5, 4, 4, 6])
    assert len(pool) == 8 and pool.shape == ref.shape
    np.testing.assert_array_equal(pool[idx], ref[idx])
