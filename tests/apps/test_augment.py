"""python -m facehalluc.augment: identity folders in, hallucinated identity folders out, resumable."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import keras  # noqa: E402

from support.apps import face_tree as _face_tree
from support.apps import read_manifest as _manifest
from support.paths import REPO



@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A ``tiny`` run directory trained for 2 (eager) steps on synthetic faces, as the demo trains."""
    from facehalluc.config import load_config
    from facehalluc.data import write_synthetic_dataset
    from facehalluc.demo import train

    root = tmp_path_factory.mktemp("augment_run")
    cfg = load_config("tiny", ["loss.use_pc=false", "loss.use_id=false", "train.batch_size=4"])
    h5 = write_synthetic_dataset(root / "synthetic.h5", n=16)
    hist = train(cfg, h5, root / "run", steps=2, eager=True)
    assert hist["steps"] == 2 and (root / "run" / "generator.weights.h5").is_file()
    return root / "run"


@pytest.fixture(scope="module")
def model(run_dir):
    from facehalluc.infer import load_hallucinator

    return load_hallucinator(run_dir)


def test_missing_default_model_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import facehalluc.store.spec as pretrained
    from facehalluc.augment import main

    # an installation whose shipped model folder is absent
    monkeypatch.setattr(pretrained, "shipped_dir", lambda: tmp_path / "no_shipped_model")
    (tmp_path / "src").mkdir()
    assert main(["--model", "default", "--src", str(tmp_path / "src"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--model default" in err and "missing" in err and "run directory" in err
    assert not (tmp_path / "o").exists()


def test_augment_preserves_identities_and_writes_manifest(model, run_dir, tmp_path):
    from PIL import Image

    from facehalluc.augment import main
    from facehalluc.preprocess import FacePreprocessor

    src, out = tmp_path / "src", tmp_path / "out"
    faces = _face_tree(src)
    rc = main(["--model", str(run_dir), "--src", str(src), "--out", str(out), "--workers", "1",
               "--batch-size", "3", "--no-progress"])
    assert rc == 0
    rows = _manifest(out)
    n_faces = sum(len(v) for v in faces.values())
    assert len(rows) == n_faces + 2 and list(rows[0]) == ["source", "output", "identity", "status"]
    by_src = {r["source"]: r for r in rows}
    assert by_src["nobody/wall.png"]["status"] == "no_face" and by_src["broken/broken.jpg"]["status"] == "unreadable"
    skipped = list(csv.DictReader(open(out / "skipped.csv", newline="")))
    assert {s["source"] for s in skipped} == {"nobody/wall.png", "broken/broken.jpg"}
    # identities are preserved: the same folder names, the same files (as .png), nothing else
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(faces)
    pre = FacePreprocessor(model.cfg.preprocess)
    for ident, rels in faces.items():
        for rel in rels:
            r = by_src[rel]
            assert r["status"] == "ok" and r["identity"] == ident
            assert r["output"] == str(Path(rel).with_suffix(".png").as_posix())
            got = np.asarray(Image.open(out / r["output"]))
            assert got.shape == (128, 128, 3)
            s = pre.process(src / rel)  # the face pixels are the input's, bit for bit
            face = s.mask > 0
            assert np.array_equal(got[face], s.masked[face])
            assert not np.array_equal(got[~face], s.masked[~face])  # context was hallucinated
    report = json.loads((out / "augment_report.json").read_text())
    assert report["n_ok"] == n_faces and report["n_skipped"] == 2 and report["n_identities"] == len(faces)
    assert not list(out.rglob(".tmp-*"))
    # an existing run is not overwritten without --resume
    assert main(["--model", str(run_dir), "--src", str(src), "--out", str(out), "--no-progress"]) == 2


def _state(out: Path) -> dict[str, tuple[int, int]]:
    """Images at their final names (a kill can leave a .tmp-<pid>-<name>.png being written)."""
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*.png")
            if not p.name.startswith(".tmp-")}


def test_injected_failure_then_resume_redoes_nothing(model, tmp_path):
    from facehalluc.augment import AugmentInterrupted, augment

    src, out = tmp_path / "src", tmp_path / "out"
    faces = _face_tree(src, per_identity=2)
    with pytest.raises(AugmentInterrupted):
        augment(model, src, out, batch_size=1, progress=False, stop_after=2)
    first = _state(out)
    assert len(first) == 2 and not (out / "manifest.csv").exists()
    stale = out / "grace_hopper" / ".tmp-99999-grace_hopper_00_00.png"  # as a kill mid-write leaves it
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"\x89PNG half")
    report = augment(model, src, out, resume=True, batch_size=2, progress=False)
    assert not stale.exists() and report.removed_temporaries == 1
    n_faces = sum(len(v) for v in faces.values())
    assert report.n_done_before == 2 and report.n_processed_now == n_faces + 2 - 2
    assert report.n_ok == n_faces and report.n_skipped == 2
    after = _state(out)
    assert all(after[k] == v for k, v in first.items())  # not rewritten
    assert len(after) == n_faces and len(_manifest(out)) == n_faces + 2


@pytest.mark.slow
def test_killed_subprocess_resumes_without_redoing_or_half_written_files(run_dir, tmp_path):
    from PIL import Image

    from facehalluc.augment import main

    src, out = tmp_path / "src", tmp_path / "out"
    faces = _face_tree(src, per_identity=2, copies=8)
    n_faces = sum(len(v) for v in faces.values())
    cmd = [sys.executable, "-m", "facehalluc.augment", "--model", str(run_dir), "--src", str(src),
           "--out", str(out), "--batch-size", "1", "--no-progress"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 400
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and len(_state(out)) >= 3:
                break
            time.sleep(0.02)
        if proc.poll() is not None:
            pytest.fail(f"augment finished (rc {proc.returncode}) before it could be killed: "
                        f"{proc.stderr.read().decode()[-2000:]}")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    first = _state(out)
    assert 3 <= len(first) < n_faces, "killed too late to test resuming"
    for rel in first:  # every image at its final name is complete
        with Image.open(out / rel) as im:
            im.load()
            assert im.size == (128, 128)
    assert not (out / "manifest.csv").exists()
    rc = main(["--model", str(run_dir), "--src", str(src), "--out", str(out), "--resume", "--no-progress"])
    assert rc == 0
    report = json.loads((out / "augment_report.json").read_text())
    assert report["n_done_before"] >= len(first)
    assert report["n_processed_now"] == n_faces + 2 - report["n_done_before"]
    after = _state(out)
    assert all(after[k] == v for k, v in first.items())
    assert len(after) == n_faces and not list(out.rglob(".tmp-*"))
    rows = _manifest(out)
    assert len(rows) == n_faces + 2 and sum(r["status"] == "ok" for r in rows) == n_faces


def test_resume_refuses_another_source(model, tmp_path):
    from facehalluc.augment import AugmentError, augment

    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    for d in (a, b):
        (d / "x").mkdir(parents=True)
    augment(model, a, out, progress=False)
    with pytest.raises(AugmentError, match="was made from"):
        augment(model, b, out, resume=True, progress=False)
    shutil.rmtree(out)
