"""Which fast path this CPU gets: XLA for training and inference, bfloat16.  The one place these choices live.

The choices are tables of measurements (``benchmarks/bench_vs_torch.py``, figures in docs/performance.md and
``results/perf/*.json``), keyed by the CPU kind read from ``/proc/cpuinfo``:

* ``amx``: AMX-BF16 tiles (Intel Sapphire Rapids and later), which also have AVX-512 + AVX512-BF16;
* ``avx512_bf16``: AVX512-BF16 without AMX (e.g. AMD Zen 4/5, Intel Cooper Lake);
* ``avx512``: AVX-512F without bf16 instructions;
* ``avx2``: AVX2 only (older AMD EPYC, most desktop CPUs);
* ``other``: anything else, or no ``/proc/cpuinfo`` (macOS, Windows): treated like ``avx2``.

``train.xla`` = ``auto`` turns XLA on where the benchmark measured it faster than TensorFlow's graph mode for the
training step; ``on`` / ``off`` force it.  The ``tiny`` preset (tests, demos) says ``off``.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

KINDS = ("amx", "avx512_bf16", "avx512", "avx2", "other")

# Training step (cascade forward + backward + update): True where XLA was measured faster than graph mode in the
# same run (benchmarks/bench_vs_torch.py), per CPU kind and generator width: "wide" = the paper's widths
# (model.width_divisor 1), "narrow" = divided by 2 or more (cpu, shipped, realism, sampling, tiny).
TRAIN_XLA_FASTER: dict[str, dict[str, bool]] = {
    # AMD EPYC (issue 24): paper cascade XLA 13.1-14.2 s/step vs graph 23.7-24.7; tiny 1.7x (performance.md)
    "avx2": {"wide": True, "narrow": True},
    # Intel Xeon AMX: paper graph 21.8 vs XLA 23.3 s/step (equal within noise, XLA compiles 2.4x longer);
    # shipped (÷8) graph faster (results/perf/intel_amx_paper.json, intel_amx_shipped.json)
    "amx": {"wide": False, "narrow": False},
    # AMD EPYC Zen 4 (AVX-512 + AVX512-BF16, no AMX): paper XLA 6.71 vs graph 7.06 s/step (1.05x; 1.25x vs 1.19x
    # PyTorch); realism (÷8) graph 0.156 vs XLA 0.164 s (results/perf/amd_avx512bf16_{paper,realism}.json)
    "avx512_bf16": {"wide": True, "narrow": False},
}
# Inference (infer.py, the web page, augment, evaluate): True where XLA was measured faster than graph mode, per
# CPU kind and batch class: "single" = batches of up to SMALL_BATCH faces (the web page, one photo through the
# Python API), "batch" = larger ones (infer.py's 16, augment, evaluate).  Kinds not in the table get graph mode
# (no compile time, nothing claimed).
SMALL_BATCH = 2
INFER_XLA_FASTER: dict[str, dict[str, bool]] = {
    # batch 1 equal, batch 8 graph faster (results/perf/intel_amx_shipped.json)
    "amx": {"single": False, "batch": False},
    # batch 1: XLA 0.016 vs graph 0.021 s (amd_avx512bf16_shipped.json; equal, 0.015 s, in amd_avx512bf16_realism);
    # batch 8 graph 0.050 vs XLA 0.059 s (amd_avx512bf16_realism.json)
    "avx512_bf16": {"single": True, "batch": False},
}
BF16_KINDS = ("amx", "avx512_bf16")


def cpu_flags(path: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (the first ``flags`` line of /proc/cpuinfo); empty when unreadable."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_kind(flags: frozenset[str] | set[str] | None = None) -> str:
    """One of :data:`KINDS` from the flags (default: this machine's)."""
    f = cpu_flags() if flags is None else flags
    if {"amx_bf16", "amx_tile"} <= f:
        return "amx"
    if "avx512_bf16" in f:
        return "avx512_bf16"
    if "avx512f" in f:
        return "avx512"
    if "avx2" in f:
        return "avx2"
    return "other"


@lru_cache(maxsize=1)
def this_cpu_kind() -> str:
    return os.environ.get("FACEHALLUC_CPU_KIND") or cpu_kind()


def cpu_model(path: str | Path = "/proc/cpuinfo") -> str:
    try:
        for line in Path(path).read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return "unknown CPU"


@dataclass(frozen=True)
class Choice:
    on: bool
    reason: str

    def line(self, what: str) -> str:
        return f"{what}: {'on' if self.on else 'off'} ({self.reason})"


def _measured(table: dict, kind: str, key: str | None = None) -> tuple[bool, str]:
    entry = table.get(kind)
    if isinstance(entry, dict):
        entry = entry.get(key)
    if entry is None:
        return False, "not measured: graph mode"
    return entry, "measured"


def width_class(width_divisor: int) -> str:
    return "wide" if width_divisor <= 1 else "narrow"


def train_xla(setting: str | bool, kind: str | None = None, width_divisor: int = 1) -> Choice:
    """``train.xla`` (auto / on / off; old configs: true / false) and ``model.width_divisor`` -> whether the train
    step is jit-compiled."""
    if isinstance(setting, bool):
        setting = "on" if setting else "off"
    if setting not in ("auto", "on", "off"):
        raise ValueError(f"train.xla must be auto, on or off, got {setting!r}")
    if setting != "auto":
        return Choice(setting == "on", f"train.xla={setting}")
    kind = kind or this_cpu_kind()
    wc = width_class(width_divisor)
    on, how = _measured(TRAIN_XLA_FASTER, kind, wc)
    verdict = "XLA measured faster than graph mode" if on else "graph mode measured as fast or faster"
    if how != "measured":
        verdict = how
    return Choice(on, f"train.xla=auto, CPU kind {kind}, {wc} generator: {verdict}; train.xla=on|off forces it")


def infer_batch_class(n: int) -> str:
    """``"single"`` for batches of up to :data:`SMALL_BATCH` faces, ``"batch"`` above (keys of
    :data:`INFER_XLA_FASTER`)."""
    return "single" if n <= SMALL_BATCH else "batch"


def infer_xla(kind: str | None = None, batch: int = SMALL_BATCH + 1) -> Choice:
    """Whether inference (infer.py, the web page, augment, evaluate) jit-compiles the generator for batches of
    ``batch`` faces.

    ``FACEHALLUC_INFER_XLA=0/1`` overrides the table.
    """
    env = os.environ.get("FACEHALLUC_INFER_XLA", "").strip().lower()
    if env in ("0", "1", "off", "on", "false", "true"):
        on = env in ("1", "on", "true")
        return Choice(on, f"FACEHALLUC_INFER_XLA={env}")
    kind = kind or this_cpu_kind()
    cls = infer_batch_class(batch)
    on, how = _measured(INFER_XLA_FASTER, kind, cls)
    return Choice(on, f"CPU kind {kind}, batch class {cls}, {how}; FACEHALLUC_INFER_XLA=1|0 forces it")


def bf16_available(kind: str | None = None) -> bool:
    """Whether the CPU has bfloat16 arithmetic units (AVX512-BF16 or AMX)."""
    return (kind or this_cpu_kind()) in BF16_KINDS


def precision_policy(mixed_precision: bool, dtype: str, kind: str | None = None) -> tuple[str, str]:
    """``train.mixed_precision`` and ``train.mixed_precision_dtype`` -> (keras dtype policy, why): the one place
    that maps them.  bfloat16 is not a default anywhere: on the AMX kind it measured 1.09-1.3x in graph mode and
    0.96x under XLA for the shipped step (docs/performance.md), below the 1.3x bar of issue 19."""
    if not mixed_precision:
        return "float32", "train.mixed_precision=false"
    if dtype == "bfloat16":
        has = bf16_available(kind)
        return "mixed_bfloat16", "bfloat16" + ("" if has else "; this CPU has no bf16 units, expect it slow")
    return "mixed_float16", "float16 with loss scaling"


def log(line: str, prefix: str = "train") -> None:
    print(f"{prefix}: {line}", file=sys.stderr, flush=True)


def _keras_callback_base():
    import keras

    return keras.callbacks.Callback


class FirstStepTimer(_keras_callback_base()):
    """Prints how long ``fit()``'s first step took (tracing, and with XLA compiling, the train step)."""

    def __init__(self, xla: bool):
        super().__init__()
        self.xla, self.t0 = xla, None

    def on_train_begin(self, logs=None):
        import time

        self.t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        import time

        if self.t0 is not None:
            what = "trace + XLA compile" if self.xla else "trace"
            log(f"first step ({what} + run) took {time.perf_counter() - self.t0:.1f} s")
            self.t0 = None
