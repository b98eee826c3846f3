"""Multi-worker training for real: two ``train.py --strategy multiworker`` processes on 127.0.0.1.

Each worker gets its own ``TF_CONFIG`` (two free localhost ports, nothing else on the network), the
``tiny`` preset at ``model.resolutions=(128)`` (one block and its discriminator: the train step of the
full cascade takes about a minute to trace per process on 2 CPU cores), global batch 4 (2 per worker),
L_pc / L_id off, synthetic faces.  Every process runs ``train.py`` through tests/support/train_debug.py,
which, with ``$FACEHALLUC_WORKER_DEBUG_DIR`` set, swaps in a ``GANTrainer`` subclass that records the
dataset rows each replica trained on, its per-step logs and its final variables; the package's own
training has no such hook.

Worker 1 gets its own ``--out`` that must never appear: non-chief workers write nothing (on two
machines the run directory exists only on the chief), and its ``$TMPDIR`` must stay empty.

Losses are compared with a single-process run of the same global batch and ``train.sync_batchnorm=always``
(the same batch-norm formula, E[x^2] - E[x]^2 over the global batch, that the workers all-reduce), so the
two runs compute the same function and differ only in float32 summation order; see ``_close`` for the
tolerances.  Both runs execute on the same machine, so CPU-specific kernels (oneDNN on x86 with AVX-512
or not) are the same in both.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from support.paths import REPO, TESTS

DEBUG_ENV = "FACEHALLUC_WORKER_DEBUG_DIR"
#: train.py with the debug records (tests/support/train_debug.py)
TRAIN_DEBUG = TESTS / "support" / "train_debug.py"
CHILD_TIMEOUT_S = 300  # a hung child fails the test instead of blocking CI
BASE = ["--config", "tiny", "--verbose", "2", "train.batch_size=4", "model.resolutions=(128)",
        "loss.use_pc=false", "loss.use_id=false", "train.checkpoint_every_steps=2", "train.val_steps=1"]


# ------------------------------------------------------------------------------------------ helpers
#: what TF prints when its gRPC server cannot bind the port of $TF_CONFIG (tried: a port held by a listening
#: socket) -- the port went to someone else between _free_ports and the worker's start
BIND_FAILED = "Could not start gRPC server"
PORT_ATTEMPTS = 4


def _free_ports(n: int) -> list[int]:
    """``n`` distinct ports that are free now on every interface (TF binds 0.0.0.0), drawn at random below
    the kernel's ephemeral range, where outgoing connections and ``bind(0)`` (other tests, other programs)
    take theirs.  A port can still be taken before the worker binds it -- TF's server sets no SO_REUSEPORT,
    so it cannot be held for it --; ``_wait`` restarts the workers on new ports when that happens."""
    import random

    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    lo, hi = (10000, low - 1) if low > 12000 else (low // 2, low - 1)
    rng = random.SystemRandom()
    ports: list[int] = []
    while len(ports) < n:
        port = rng.randint(lo, hi)
        if port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        ports.append(port)
    return ports


def _bind_failed(p: subprocess.Popen) -> bool:
    return BIND_FAILED in Path(p.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def _env(tmp: Path, name: str, debug: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", DEBUG_ENV, "FACEHALLUC_DEBUG_KILL")}
    tmpdir = tmp / f"tmpdir_{name}"
    tmpdir.mkdir(parents=True, exist_ok=True)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", DEBUG_ENV: str(debug), "TMPDIR": str(tmpdir),
                "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1", **extra})
    return env


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "w")
    proc = subprocess.Popen([sys.executable, str(TRAIN_DEBUG), *args], cwd=REPO, env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = log  # type: ignore[attr-defined]
    out.close()
    return proc


def _start_workers(tmp: Path, tag: str, outs: list[Path], args: list[str], debug: Path,
                   **extra_env: str) -> list[subprocess.Popen]:
    """Two workers on two free ports.  The returned list is the workers' group: when ``_wait`` sees one of
    them fail to bind its port it kills the other and replaces both, in this list, by a start on new ports."""
    group: list[subprocess.Popen] = []

    def launch(attempt: int) -> list[subprocess.Popen]:
        if attempt >= PORT_ATTEMPTS:
            pytest.fail(f"{PORT_ATTEMPTS} pairs of ports were taken before the workers bound them")
        ports = _free_ports(2)
        cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
        procs = []
        for i in range(2):
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            log = tmp / (f"{tag}_w{i}.log" if attempt == 0 else f"{tag}_w{i}.try{attempt}.log")
            proc = _start(["--strategy", "multiworker", "--out", str(outs[i]), *args],
                          _env(tmp, f"{tag}_w{i}", debug, TF_CONFIG=tf_config, **extra_env), log)
            proc.group, proc.relaunch = group, (lambda: launch(attempt + 1))  # type: ignore[attr-defined]
            procs.append(proc)
        return procs

    group[:] = launch(0)
    return group


def _wait(procs: list[subprocess.Popen], timeout: float = CHILD_TIMEOUT_S) -> list[float]:
    """Waits for every process; returns their exit times (time.monotonic()).  Kills all on timeout.
    A worker that could not bind its port (``BIND_FAILED``) is restarted with its partner on new ports
    (``procs`` and the workers' group are updated in place); any other failure is the test's to judge."""
    deadline = time.monotonic() + timeout
    ended: dict[int, float] = {}
    while len(ended) < len(procs):
        for i, p in enumerate(procs):
            if i in ended or p.poll() is None:
                continue
            group = getattr(p, "group", None)
            if group is not None and p.returncode != 0 and _bind_failed(p):
                for q in group:
                    if q.poll() is None:
                        os.killpg(q.pid, signal.SIGKILL)
                        q.wait()
                old = list(group)
                group[:] = p.relaunch()  # type: ignore[attr-defined]
                for j, q in enumerate(procs):
                    if q in old:
                        procs[j] = group[old.index(q)]
                        ended.pop(j, None)
                break
            ended[i] = time.monotonic()
        if time.monotonic() > deadline:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            pytest.fail(f"a child ran past {timeout} s:\n" + "\n".join(_tail(p) for p in procs))
        time.sleep(0.05)
    return [ended[i] for i in range(len(procs))]


def _tail(p: subprocess.Popen, n: int = 3000) -> str:
    text = Path(p.log_path).read_text(errors="replace")  # type: ignore[attr-defined]
    return f"--- {p.args} rc={p.returncode}\n{text[-n:]}"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _ids(debug: Path, task: str) -> dict[tuple[int, int], list[int]]:
    return {(r["step"], r["replica"]): r["ids"] for r in _jsonl(debug / f"{task}.ids.jsonl")}


def _steps(debug: Path, task: str) -> dict[int, dict[str, float]]:
    return {r["step"]: r["logs"] for r in _jsonl(debug / f"{task}.steps.jsonl")}


def _variables(path: Path) -> dict[str, list[np.ndarray]]:
    with h5py.File(path, "r") as f:
        out = {g: [f[g][str(i)][()] for i in range(int(f[g].attrs["count"]))]
               for g in ("generator", "discriminators", "g_optimizer", "d_optimizer")}
        out["state"] = json.loads(f.attrs["state"])
    return out


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    from facehalluc.data import write_synthetic_dataset

    # 32 faces, 8 identities: 24 train (a multiple of the global batch: no batch spans two epochs, so
    # no example can legitimately appear twice in one step), 8 val
    return write_synthetic_dataset(tmp_path_factory.mktemp("data") / "faces.h5", n=32, val_fraction=0.25)


# Tolerances for "equals the single-process run" (fit()'s running means, compared step by step).  Both runs
# compute the same function of the same weights on the same 4 examples; only float32 summation order
# differs: per-replica means averaged over 2 replicas vs one mean over 4, two half-batch gradients
# all-reduced vs one full-batch gradient, batch-norm sums all-reduced from two halves.  Before any weight
# has moved that is round-off, ~1e-7..1e-6 relative.  Adam then amplifies it: its first updates are
# lr * m / (sqrt(v) + eps), about +-lr whatever |g|, so a gradient component near zero whose rounding
# differs moves a weight by up to 2 lr (1e-3 here) in one run and not in the other; the GAN's two players
# feed that back, so the gap grows roughly tenfold every two steps.  Step 1's L_adv / D loss already see
# one discriminator update (D is updated before G within a step).
# Measured (tiny at (128), batch 4, 5 steps; relative, worst over all logged terms):
#   step 1: 1.3e-6 (oneDNN on, AMD EPYC with AVX-512) / 1.2e-6 (TF_ENABLE_ONEDNN_OPTS=0: Eigen kernels, the
#           closest stand-in here for another CPU's kernels); steps 2-3: 8.4e-5 / 3.6e-5; steps 4-5: 1.3e-4 / 4.1e-4.
#   the same two workers with train.sync_batchnorm=never: 1.2e-2 (D loss) and 1.6e-2 (L_adv) at step 1.
# Bounds: 2e-5 at step 1 and 2e-3 at steps 2-3, >= 15x above the measured round-off and still 600x / 10x
# below the effect of unsynchronised batch norm.
def _rtol(step: int) -> float:
    return 2e-5 if step == 1 else 2e-3


def _close(step: int, a: float, b: float) -> bool:
    return abs(a - b) <= _rtol(step) * max(abs(a), abs(b)) + 1e-8


# --------------------------------------------------------------------------------------------- tests
@pytest.mark.slow
def test_two_workers_train_like_one_process(tmp_path, faces):
    """Both workers finish with identical weights; every global batch is split between them (each example
    once, exactly the single-process batch); only the chief writes; losses equal the single process's."""
    steps = 3
    args = ["--data", str(faces), "--epochs", "1", "--steps-per-epoch", str(steps), *BASE]
    run, run_w1 = tmp_path / "run", tmp_path / "run_w1"
    debug, debug_ref = tmp_path / "debug", tmp_path / "debug_ref"
    t0 = time.monotonic()
    # the single-process reference runs alongside the workers (they wait on each other's collectives)
    ref = _start(["--strategy", "default", "--out", str(tmp_path / "ref"), *args, "train.sync_batchnorm=always"],
                 _env(tmp_path, "ref", debug_ref), tmp_path / "ref.log")
    workers = _start_workers(tmp_path, "mw", [run, run_w1], args, debug)
    everything = [ref, *workers]
    _wait(everything)
    workers = everything[1:]
    elapsed = time.monotonic() - t0
    for p in (ref, *workers):
        assert p.returncode == 0, _tail(p)
    logs = [Path(p.log_path).read_text() for p in workers]  # type: ignore[attr-defined]
    assert f"done: {steps} steps, 1 epochs" in logs[0] and f"generator: {run / 'generator.weights.h5'}" in logs[0]
    assert f"done: {steps} steps, 1 epochs" in logs[1] and "this worker wrote nothing" in logs[1]

    # identical weights (generator, discriminators incl. batch-norm moving statistics, both Adams) on both
    w0, w1 = _variables(debug / "worker_0.final.h5"), _variables(debug / "worker_1.final.h5")
    assert w0["state"] == w1["state"] and w0["state"]["global_step"] == steps
    for group in ("generator", "discriminators", "g_optimizer", "d_optimizer"):
        assert len(w0[group]) == len(w1[group]) > 0
        for i, (a, b) in enumerate(zip(w0[group], w1[group])):
            np.testing.assert_array_equal(a, b, err_msg=f"{group} variable {i} differs between the workers")
    saved = _variables(run / "checkpoint" / "state.h5")  # the chief's checkpoint holds the same state
    for group in ("generator", "discriminators"):
        for a, b in zip(saved[group], w0[group]):
            np.testing.assert_array_equal(a, b)

    # every global batch split between the workers: each replica gets 2 of the 4 examples, none twice,
    # and together exactly the batch the single process trains on at that step
    ids0, ids1, ref_ids = _ids(debug, "worker_0"), _ids(debug, "worker_1"), _ids(debug_ref, "single")
    assert sorted(ids0) == [(k, 0) for k in range(1, steps + 1)]  # worker 0 holds replica 0 only
    assert sorted(ids1) == [(k, 1) for k in range(1, steps + 1)]
    for k in range(1, steps + 1):
        a, b = ids0[(k, 0)], ids1[(k, 1)]
        assert len(a) == len(b) == 2 and not set(a) & set(b), (k, a, b)
        assert a + b == ref_ids[(k, 0)], f"step {k}: workers {a} + {b}, single process {ref_ids[(k, 0)]}"
    seen = [i for k in range(1, steps + 1) for i in ids0[(k, 0)] + ids1[(k, 1)]]
    assert len(seen) == len(set(seen)) == 4 * steps  # 12 of the 24 training faces, none twice in the run

    # only the chief writes: the run directory is complete, worker 1's --out never appears, its TMPDIR is empty
    files = _files(run)
    for f in ("config.yaml", "checkpoint/state.h5", "generator.weights.h5", "history.jsonl", "loss_curves.png",
              "samples/epoch_001.png"):
        assert f in files, sorted(files)
    assert any(f.startswith("tb/") for f in files) or importlib.util.find_spec("tensorboard") is None
    assert not [f for f in files if ".tmp" in f], files
    assert saved["state"]["global_step"] == steps
    assert not run_w1.exists()
    assert not any((tmp_path / "tmpdir_mw_w1").iterdir())

    # losses: both workers log the same (all-reduced) values, equal to the single process within tolerance
    s0, s1, sref = _steps(debug, "worker_0"), _steps(debug, "worker_1"), _steps(debug_ref, "single")
    assert sorted(s0) == sorted(sref) == list(range(1, steps + 1))
    assert s0 == s1
    worst: dict[int, float] = {}
    for k in sref:
        for name, v in sref[k].items():
            if name.startswith("val_"):
                continue
            w = s0[k][name]
            worst[k] = max(worst.get(k, 0.0), abs(w - v) / max(abs(v), 1e-12))
            assert _close(k, w, v), f"step {k} {name}: two workers {w}, one process {v} (rtol {_rtol(k)})"
    print(f"\ntwo workers + reference: {elapsed:.0f} s; worst relative loss difference per step: "
          + ", ".join(f"step {k}: {v:.1e}" for k, v in sorted(worst.items())))


@pytest.mark.slow
def test_killed_worker_stops_the_other_and_resume_continues(tmp_path, faces):
    """SIGKILL worker 1 right after step 3: the chief stops with exit code 4 and a one-line message in
    bounded time; both restarted with --resume continue from the chief's checkpoint (step 2) with the
    same step counter, recompute step 3 on the same examples to the same losses, and end identical."""
    args = ["--data", str(faces), "--epochs", "1", "--steps-per-epoch", "4", *BASE]
    run, run_w1 = tmp_path / "run", tmp_path / "run_w1"
    d1, d2 = tmp_path / "debug1", tmp_path / "debug2"
    procs = _start_workers(tmp_path, "kill", [run, run_w1], args, d1, FACEHALLUC_DEBUG_KILL="worker_1:3")
    ended = _wait(procs)
    chief, worker = procs
    assert worker.returncode == -signal.SIGKILL, _tail(worker)
    assert chief.returncode == 4, _tail(chief)
    stopped_after = ended[0] - ended[1]
    last = [ln for ln in Path(chief.log_path).read_text().splitlines() if ln.startswith("train.py: error:")]
    assert len(last) == 1 and "another worker died or became unreachable" in last[0], _tail(chief)
    assert "restart every worker with --resume" in last[0] and "is at global step 2" in last[0], last[0]
    assert stopped_after < 90, f"the chief took {stopped_after:.0f} s to notice"
    assert _variables(run / "checkpoint" / "state.h5")["state"]["global_step"] == 2
    assert not run_w1.exists()

    procs = _start_workers(tmp_path, "resume", [run, run_w1], [*args, "--resume"], d2)
    _wait(procs)
    for p in procs:
        assert p.returncode == 0, _tail(p)
        assert "done: 4 steps, 1 epochs" in Path(p.log_path).read_text()  # type: ignore[attr-defined]
    assert _variables(run / "checkpoint" / "state.h5")["state"] == {
        "global_step": 4, "epoch": 1, "stage": 0, "stage_step": 4, "config_name": "tiny"}
    assert not run_w1.exists()  # worker 1 resumed from the chief's state, broadcast; it has no files
    # the resumed run continues the step counter at 3 and sees the batches the killed run saw at step 3
    before, after = _steps(d1, "worker_0"), _steps(d2, "worker_0")
    assert sorted(after) == [3, 4] and sorted(before) == [1, 2, 3]
    for task, r in (("worker_0", 0), ("worker_1", 1)):
        assert _ids(d2, task)[(3, r)] == _ids(d1, task)[(3, r)]
    # step 3 recomputed from the checkpoint = step 3 of the killed run (3 m3 - 2 m2 undoes the running mean)
    for name, v in after[3].items():
        if not name.startswith("val_"):
            original = 3 * before[3][name] - 2 * before[2][name]
            assert v == pytest.approx(original, rel=1e-4, abs=1e-6), name
    # identical weights on both workers at the end (worker 1 got every variable from the chief)
    w0, w1 = _variables(d2 / "worker_0.final.h5"), _variables(d2 / "worker_1.final.h5")
    for group in ("generator", "discriminators", "g_optimizer", "d_optimizer"):
        for a, b in zip(w0[group], w1[group]):
            np.testing.assert_array_equal(a, b, err_msg=group)
    print(f"\nchief stopped {stopped_after:.1f} s after worker 1 was killed: {last[0]}")


def test_worker_that_never_starts_ends_the_other_in_bounded_time(tmp_path, faces):
    """Only worker 0 of a two-worker TF_CONFIG starts: it gives up after train.cluster_join_timeout_s
    (TF's own wait has no bound and ignores SIGINT/SIGTERM) and has written nothing."""
    run = tmp_path / "run"
    for attempt in range(PORT_ATTEMPTS):  # a port taken before worker 0 bound it: try new ones
        port, other = _free_ports(2)
        tf_config = json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}", f"127.0.0.1:{other}"]},
                                "task": {"type": "worker", "index": 0}})
        proc = _start(["--strategy", "multiworker", "--out", str(run), "--data", str(faces), "--epochs", "1",
                       *BASE, "train.cluster_join_timeout_s=5"],
                      _env(tmp_path, "alone", tmp_path / "debug", TF_CONFIG=tf_config),
                      tmp_path / f"alone{attempt}.log")
        _wait([proc], timeout=180)
        if not _bind_failed(proc):
            break
    text = Path(proc.log_path).read_text()  # type: ignore[attr-defined]
    assert proc.returncode == 1, _tail(proc)
    assert "train.py: waiting for the 2 workers of $TF_CONFIG to start (at most 5 s" in text
    assert "Timeout (0:00:05)!" in text, _tail(proc)
    assert not run.exists()


# A stand-in worker for the port-race test: binds the port its $TF_CONFIG gives it as TF's gRPC server
# does (0.0.0.0, no SO_REUSEPORT) and prints TF's message when that fails.
_FAKE_WORKER = """
import json, os, socket, sys, time
cfg = json.loads(os.environ["TF_CONFIG"])
port = int(cfg["cluster"]["worker"][cfg["task"]["index"]].rsplit(":", 1)[1])
s = socket.socket()
try:
    s.bind(("0.0.0.0", port))
except OSError:
    print("UNKNOWN: Could not start gRPC server", flush=True)
    sys.exit(1)
s.listen()
time.sleep(1)
print("done", flush=True)
"""


def test_a_port_taken_before_the_worker_binds_it_restarts_both_on_new_ports(tmp_path, monkeypatch):
    """The race of picking free ports and closing them before the workers bind them: another process takes
    worker 1's port in between.  Both workers are restarted on new ports instead of the test failing."""
    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))
    taken.listen()
    held = taken.getsockname()[1]
    picks = iter([[_free_ports(1)[0], held]])
    real_free_ports = _free_ports
    monkeypatch.setattr(sys.modules[__name__], "_free_ports", lambda n: next(picks, None) or real_free_ports(n))

    def fake_start(args, env, log):
        out = open(log, "w")
        proc = subprocess.Popen([sys.executable, "-c", _FAKE_WORKER], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        proc.log_path = log
        out.close()
        return proc

    monkeypatch.setattr(sys.modules[__name__], "_start", fake_start)
    try:
        workers = _start_workers(tmp_path, "race", [tmp_path / "a", tmp_path / "b"], [], tmp_path / "debug")
        first = list(workers)
        _wait(workers, timeout=60)
    finally:
        taken.close()
    assert _bind_failed(first[1]) and all(p not in first for p in workers)
    assert [p.returncode for p in workers] == [0, 0]
    assert all("done" in Path(p.log_path).read_text() for p in workers)
    assert (tmp_path / "race_w1.try1.log").is_file()
