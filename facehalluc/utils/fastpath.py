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

Two choices do not depend on the kind: :func:`native_dilated_conv` (dilated convolutions as one oneDNN op while
this package's TensorFlow code traces a model) and :func:`infer_freeze` (a loaded generator's weights folded into
its inference graph).  ``train.xla_conv_matmul`` (:func:`small_convs_as_matmul`) does: an XLA-compiled train step
computes its small, wide convolutions as matrix products where that was measured faster.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
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
# Graph-mode train step (train.xla off) with XLA clustering only its element-wise ops ("fusible": activations and
# their gradients, compositing, bias gradients, losses), the convolutions and matrix products left to TensorFlow's
# oneDNN kernels: True where measured faster than plain graph mode, per CPU kind and generator width class.
# AMD EPYC Zen 4: the shipped (÷8) GAN step 1.11x plain graph mode, realism's 1.09x, the generator step alone 1.02x
# (results/perf/amd_avx512bf16_dec07_ew_{shipped,realism}.json; docs/performance.md, 2026-12-07).
TRAIN_XLA_ELEMENTWISE_FASTER: dict[str, dict[str, bool]] = {
    "avx512_bf16": {"narrow": True},
}
#: TF_XLA_FLAGS for :data:`TRAIN_XLA_ELEMENTWISE_FASTER`: auto-clustering (read once, when TensorFlow starts), on CPU,
#: of the ops XLA can fuse only
XLA_ELEMENTWISE_FLAGS = ("--tf_xla_auto_jit=2", "--tf_xla_cpu_global_jit", "--tf_xla_ops_to_cluster=FUSIBLE")
# Inference (infer.py, the web page, augment, evaluate): True where XLA was measured faster than graph mode, per
# CPU kind and batch class: "single" = batches of up to SMALL_BATCH faces (the web page, one photo through the
# Python API), "batch" = larger ones (infer.py's 16, augment, evaluate).  Kinds not in the table get graph mode
# (no compile time, nothing claimed).  SMALL_BATCH was 2 until the weights were frozen (issue 24): frozen, graph
# mode beat XLA at 2 faces (0.0218 vs 0.0245 s) while XLA still won at 1 (0.0140 vs 0.0152 s) on avx512_bf16
# (results/perf/fastpath_ab_xla_amd_avx512bf16_shipped.json, 21 interleaved rounds); again with a trained model's
# fused frozen graph (random biases): 1 face XLA 0.0138 vs graph 0.0169 s, 2 faces graph 0.0196 vs XLA 0.0221 s
# (fastpath_ab_xla_amd_avx512bf16_shipped_biased.json).
SMALL_BATCH = 1
INFER_XLA_FASTER: dict[str, dict[str, bool]] = {
    # batch 1 equal, batch 8 graph faster (results/perf/intel_amx_shipped.json)
    "amx": {"single": False, "batch": False},
    # batch 1: XLA 0.016 vs graph 0.021 s (amd_avx512bf16_shipped.json; equal, 0.015 s, in amd_avx512bf16_realism);
    # frozen weights: XLA 0.0140 vs graph 0.0152 s (fastpath_ab_xla_amd_avx512bf16_shipped.json);
    # batch 8 graph 0.050 vs XLA 0.059 s (amd_avx512bf16_realism.json)
    "avx512_bf16": {"single": True, "batch": False},
}
BF16_KINDS = ("amx", "avx512_bf16")
# XLA-compiled train step (train.xla on) with its small, wide convolutions -- at most CONV_MATMUL_MAX_PIXELS output
# pixels, at least CONV_MATMUL_MIN_CHANNELS input and output channels -- computed as one matrix product over their kxk
# neighbourhoods (:func:`small_convs_as_matmul`): True where measured faster than XLA's own convolution, per CPU kind
# and width class.  XLA's CPU convolution transposes the filter for the input gradient and the filter gradient's
# result on every step (its convolution emitter wants one layout); for the paper's 4x4 and 8x8 blocks with
# 512-2048 channels the filters are far bigger than the activations, so the transposes cost as much as the
# arithmetic, while a matrix product reads a filter as it is, in either orientation.  AMD EPYC Zen 4: the paper
# step 1.05-1.07x faster than with XLA's convolutions (paired, three runs; results/perf/
# amd_avx512bf16_dec07b_paper_mm_{1,2,3}.json); per layer, forward + both gradients, 4x4 1024->2048 176 -> 118 ms,
# 8x8 1024->1024 224 -> 209 ms, 16x16 512->512 193 -> 194 ms (no gain: the pixel limit); 8x8 512->3 (5x5, the paper's
# output convolution) 11.5 -> 15.4 ms, a product three columns wide (the limit on output channels)
# (results/perf/conv_matmul_amd_avx512bf16_paper.json; docs/performance.md, 2026-12-07, second session).  Graph
# mode keeps oneDNN's convolutions: there the shipped step measured no gain.
TRAIN_XLA_CONV_MATMUL_FASTER: dict[str, dict[str, bool]] = {
    "avx512_bf16": {"wide": True},
}
CONV_MATMUL_MAX_PIXELS = 64
CONV_MATMUL_MIN_CHANNELS = 256


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


def _by_width(name: str, setting: str, table: dict, kind: str | None, width_divisor: int,
              verdicts: tuple[str, str, str]) -> Choice:
    """``train.<name>`` (auto / on / off) -> a :class:`Choice`; ``auto`` looks up ``table[kind][width class]``.
    ``verdicts``: the reason's words when measured faster, measured as fast or slower, not measured."""
    if setting not in ("auto", "on", "off"):
        raise ValueError(f"train.{name} must be auto, on or off, got {setting!r}")
    if setting != "auto":
        return Choice(setting == "on", f"train.{name}={setting}")
    kind = kind or this_cpu_kind()
    wc = width_class(width_divisor)
    on, how = _measured(table, kind, wc)
    verdict = (verdicts[0] if on else verdicts[1]) if how == "measured" else verdicts[2]
    return Choice(on, f"train.{name}=auto, CPU kind {kind}, {wc} generator: {verdict}; train.{name}=on|off forces it")


def train_xla(setting: str | bool, kind: str | None = None, width_divisor: int = 1) -> Choice:
    """``train.xla`` (auto / on / off; old configs: true / false) and ``model.width_divisor`` -> whether the train
    step is jit-compiled."""
    if isinstance(setting, bool):
        setting = "on" if setting else "off"
    return _by_width("xla", setting, TRAIN_XLA_FASTER, kind, width_divisor,
                     ("XLA measured faster than graph mode", "graph mode measured as fast or faster",
                      "not measured: graph mode"))


def train_xla_elementwise(setting: str, xla_on: bool, kind: str | None = None, width_divisor: int = 1) -> Choice:
    """``train.xla_elementwise`` (auto / on / off) -> whether a graph-mode train step should run its element-wise
    ops as XLA clusters (:data:`XLA_ELEMENTWISE_FLAGS`).  Never with ``xla_on`` (the whole step is compiled)."""
    choice = _by_width("xla_elementwise", setting, TRAIN_XLA_ELEMENTWISE_FASTER, kind, width_divisor,
                       ("measured faster than plain graph mode", "plain graph mode measured as fast or faster",
                        "not measured: plain graph mode"))
    return Choice(False, "the whole train step is XLA-compiled") if xla_on else choice


def train_xla_conv_matmul(setting: str, xla_on: bool, kind: str | None = None, width_divisor: int = 1) -> Choice:
    """``train.xla_conv_matmul`` (auto / on / off) -> whether an XLA-compiled train step computes its small, wide
    convolutions as matrix products (:func:`small_convs_as_matmul`).  Never without ``xla_on``: in graph mode the
    convolutions are oneDNN's, and the setting does nothing."""
    choice = _by_width("xla_conv_matmul", setting, TRAIN_XLA_CONV_MATMUL_FASTER, kind, width_divisor,
                       ("measured faster than XLA's convolutions", "XLA's convolutions measured as fast or faster",
                        "not measured: XLA's convolutions"))
    return choice if xla_on else Choice(False, "the train step runs in graph mode (oneDNN's convolutions)")


def xla_elementwise_active(environ: dict | None = None) -> bool:
    """Whether TF_XLA_FLAGS turns XLA auto-clustering on (ours or the user's own ``--tf_xla_auto_jit``)."""
    flags = (os.environ if environ is None else environ).get("TF_XLA_FLAGS", "")
    return any(f.startswith("--tf_xla_auto_jit=") and f.split("=", 1)[1] not in ("0", "-1") for f in flags.split())


def enable_xla_elementwise(choice: Choice) -> Choice:
    """Called by ``train.py`` (``train.cli``) before TensorFlow starts: appends :data:`XLA_ELEMENTWISE_FLAGS` to
    ``TF_XLA_FLAGS`` when ``choice`` (:func:`train_xla_elementwise`) is on.  TensorFlow reads the flags once, so
    every graph of the process (train step, validation, callbacks) gets its element-wise ops clustered: a few
    seconds of compiling per new function or shape.  A user's own ``--tf_xla_auto_jit`` wins; once TensorFlow is
    imported it is too late and nothing is set (library use: set ``TF_XLA_FLAGS`` before importing TensorFlow)."""
    if not choice.on:
        return choice
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if "--tf_xla_auto_jit" in flags:
        return Choice(xla_elementwise_active(), f"TF_XLA_FLAGS={flags!r} set by the user")
    if _tensorflow_imported():
        return Choice(False, f"{choice.reason}; but TensorFlow was imported before TF_XLA_FLAGS could be set "
                             f"(set TF_XLA_FLAGS='{' '.join(XLA_ELEMENTWISE_FLAGS)}' before importing it)")
    os.environ["TF_XLA_FLAGS"] = " ".join([flags, *XLA_ELEMENTWISE_FLAGS]).strip()
    return choice


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


#: Inference of a generator loaded from a file folds its weights into the traced graph as constants (issue 24):
#: oneDNN then reorders each convolution's filter once and keeps it (``is_filter_const``) instead of on every
#: call, and grappler folds what depends on the weights only.  On the shipped (widths / 8) generator 1.03-1.26x
#: at 1-8 faces over the runs of docs/performance.md (1.21x at 1 face, none left at 8 once the dilated
#: convolutions are native, in the committed A/B run); outputs differ by float rounding (<= 4e-7).  Generators
#: whose weights exceed this many bytes keep their variables: a frozen graph is one protobuf (2 GiB limit) and
#: doubles the weights' memory; the paper widths (1.57 GB) are compute-bound, where the per-call filter reorder is
#: a small share.
INFER_FREEZE_MAX_BYTES = 256 * 2**20
#: ... once this many faces have gone through one input signature: freezing costs about 1.4 s once (the graph
#: conversion, and grappler on a graph with the weights inside; shipped generator, Zen 4) and saves about a tenth
#: of every later call, so a short run (infer.py on a few photos) should never pay for it and a long one (evaluate,
#: augment, the web page) should.  256 faces are ~32 calls of 8 (~1.6 s of calls, about the cost of freezing).
#: A count, not a time, so the same inputs give the same outputs on every run (frozen and live outputs differ by
#: float rounding only, <= 4e-7).
INFER_FREEZE_AFTER_FACES = 256


def infer_freeze(weight_bytes: int) -> Choice:
    """Whether inference of a loaded generator with ``weight_bytes`` of weights freezes them into its graph.
    ``FACEHALLUC_INFER_FREEZE=0/1`` overrides (1 still stops at the protobuf limit)."""
    env = os.environ.get("FACEHALLUC_INFER_FREEZE", "").strip().lower()
    if env in ("0", "off", "false"):
        return Choice(False, f"FACEHALLUC_INFER_FREEZE={env}")
    if env in ("1", "on", "true"):
        return Choice(weight_bytes < 2**31 - 2**26, f"FACEHALLUC_INFER_FREEZE={env}")
    if weight_bytes > INFER_FREEZE_MAX_BYTES:
        return Choice(False, f"{weight_bytes / 2**20:.0f} MiB of weights > {INFER_FREEZE_MAX_BYTES / 2**20:.0f} MiB; "
                             "FACEHALLUC_INFER_FREEZE=1 forces it")
    return Choice(True, f"{weight_bytes / 2**20:.1f} MiB of weights; FACEHALLUC_INFER_FREEZE=0 keeps variables")


class _Tracing(threading.local):
    native_dilation = 0  # depth of native_dilated_conv() blocks entered by this thread
    conv_matmul = 0  # depth of small_convs_as_matmul(True) blocks entered by this thread


_TRACING = _Tracing()


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN kernels (x86 Linux builds, unless ``TF_ENABLE_ONEDNN_OPTS=0``)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # not TensorFlow, or a build without the probe: claim nothing
        return False
    return bool(_pywrap_util_port.IsMklEnabled())


def prefer_onednn() -> Choice:
    """Called by the command-line tools (``utils.quiet.quiet_tensorflow``) before TensorFlow is imported: sets
    ``TF_ENABLE_ONEDNN_OPTS=1`` on x86 kinds.  TensorFlow 2.21 turns its oneDNN kernels on by itself only on CPUs
    with AVX512-VNNI, AVX512-BF16, AVX-VNNI or AMX; elsewhere (AVX2 machines, AVX-512 without VNNI) graph mode runs
    Eigen's convolutions, measured 1.45x slower than PyTorch (which uses oneDNN) on the shipped step, where oneDNN
    capped at AVX2 ran level with it (docs/performance.md).  A user's own setting wins; after TensorFlow is
    imported it is too late and nothing is set.  Library use: set the variable before importing TensorFlow."""
    if "TF_ENABLE_ONEDNN_OPTS" in os.environ:
        user = os.environ["TF_ENABLE_ONEDNN_OPTS"]
        on = user.strip().lower() not in ("0", "false", "off")
        return Choice(on, f"TF_ENABLE_ONEDNN_OPTS={user} set by the user")
    if _tensorflow_imported():
        return Choice(False, "TensorFlow already imported: its own default stands")
    kind = this_cpu_kind()
    if kind == "other":
        return Choice(False, "not an x86 kind with AVX2 (or no /proc/cpuinfo): TensorFlow's own default stands")
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    return Choice(True, f"CPU kind {kind}: TF_ENABLE_ONEDNN_OPTS=1 (export TF_ENABLE_ONEDNN_OPTS=0 to keep Eigen)")


def _tensorflow_imported() -> bool:
    return "tensorflow" in sys.modules


def native_dilation() -> Choice:
    """Whether :func:`native_dilated_conv` acts: the Keras backend is TensorFlow and oneDNN is on (TensorFlow's
    own CPU kernels have no dilated gradient).  ``FACEHALLUC_NATIVE_DILATION=0`` turns it off."""
    import keras

    if os.environ.get("FACEHALLUC_NATIVE_DILATION", "").strip().lower() in ("0", "off", "false"):
        return Choice(False, "FACEHALLUC_NATIVE_DILATION=0")
    if keras.backend.backend() != "tensorflow":
        return Choice(False, f"Keras backend {keras.backend.backend()}")
    if not onednn_enabled():
        return Choice(False, "oneDNN is off: TensorFlow's CPU kernels have no dilated convolution gradient")
    return Choice(True, "oneDNN on; FACEHALLUC_NATIVE_DILATION=0 turns it off")


@contextlib.contextmanager
def native_dilated_conv():
    """While this thread is inside the block, Keras's TensorFlow backend lowers a dilated, stride-1, 2-D,
    channels-last, ungrouped float32 (or, with bf16 units, bfloat16) ``keras.ops.conv`` to one ``Conv2D`` op
    with ``dilations`` (oneDNN runs it natively, forward and both gradients) instead of ``tf.nn.convolution``'s
    space-to-batch, convolution and batch-to-space.  The models keep calling ``keras.ops`` only; the train step
    and the inference functions enter this block while they are traced, so it decides what their graphs
    contain.  Same function to float rounding; on the shipped generator a 2-10 % faster train step and up to
    1.1x faster inference (docs/performance.md, issue 24).  Not used for SavedModel export: TensorFlow without
    oneDNN (other CPUs, ``TF_ENABLE_ONEDNN_OPTS=0``) has no dilated gradient on CPU, so exported graphs keep the
    portable form.  Yields whether it acts (:func:`native_dilation`)."""
    if not native_dilation().on:
        yield False
        return
    _install_conv_wrapper()
    _TRACING.native_dilation += 1
    try:
        yield True
    finally:
        _TRACING.native_dilation -= 1


@contextlib.contextmanager
def small_convs_as_matmul(on: bool = True):
    """While this thread is inside the block (and ``on``: :func:`train_xla_conv_matmul`'s choice), Keras's
    TensorFlow backend computes a stride-1, undilated, ``same``-padded, channels-last 2-D ``keras.ops.conv`` with an
    odd square kernel, at most :data:`CONV_MATMUL_MAX_PIXELS` output pixels and at least
    :data:`CONV_MATMUL_MIN_CHANNELS` input and output channels, as one matrix product: the k x k neighbourhoods of
    every pixel side by side (``[N*H*W, k*k*C]``) times the kernel read as ``[k*k*C, C_out]``.  The same sums in
    another order (float rounding); the same variables.  The XLA-compiled train step enters it while it is traced
    (``GANTrainer.train_step``); see :data:`TRAIN_XLA_CONV_MATMUL_FASTER` for why and where.  Yields ``on``."""
    if not on:
        yield False
        return
    import keras

    if keras.backend.backend() != "tensorflow":
        yield False
        return
    _install_conv_wrapper()
    _TRACING.conv_matmul += 1
    try:
        yield True
    finally:
        _TRACING.conv_matmul -= 1


def _install_conv_wrapper() -> None:
    """Wraps ``keras.src.backend.tensorflow.nn.conv`` once per process; the wrapper changes nothing outside a
    :func:`native_dilated_conv` or :func:`small_convs_as_matmul` block of the calling thread."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import nn as tf_nn

    if getattr(tf_nn.conv, "_facehalluc_conv_wrapper", False):
        return
    stock = tf_nn.conv

    def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1, **kwargs):
        if _TRACING.conv_matmul and not kwargs and _matmul_conv_fits(inputs, kernel, strides, padding, data_format,
                                                                     dilation_rate):
            return conv_as_matmul(inputs, kernel)
        dilations = (_native_dilations(inputs, kernel, strides, data_format, dilation_rate)
                     if _TRACING.native_dilation and not kwargs else None)
        if dilations is not None:
            return tf.nn.conv2d(inputs, kernel, strides=1, padding=str(padding).upper(), data_format="NHWC",
                                dilations=[1, *dilations, 1])
        return stock(inputs, kernel, strides, padding, data_format, dilation_rate, **kwargs)

    conv._facehalluc_conv_wrapper = True
    conv.stock = stock
    tf_nn.conv = conv


def conv_as_matmul(inputs, kernel):
    """A stride-1, ``same``-padded NHWC convolution with an odd square kernel as one matrix product: the kxk
    neighbourhoods of every pixel, zero-padded at the border, side by side in the order of the kernel's rows
    (``[N*H*W, k*k*C]``), times the kernel reshaped to ``[k*k*C, C_out]``."""
    import tensorflow as tf

    k, c, c_out = int(kernel.shape[0]), int(kernel.shape[2]), int(kernel.shape[3])
    h, w, p = int(inputs.shape[1]), int(inputs.shape[2]), k // 2
    padded = tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]])
    cols = tf.concat([padded[:, i:i + h, j:j + w, :] for i in range(k) for j in range(k)], axis=-1)
    out = tf.matmul(tf.reshape(cols, [-1, k * k * c]), tf.reshape(kernel, [k * k * c, c_out]))
    return tf.reshape(out, [-1, h, w, c_out])


def _matmul_conv_fits(inputs, kernel, strides, padding, data_format, dilation_rate) -> bool:
    """Whether :func:`small_convs_as_matmul` computes this conv as a matrix product."""
    if not _stride1_2d_nhwc(inputs, kernel, strides, data_format):
        return False
    h, w, c = inputs.shape[1], inputs.shape[2], inputs.shape[3]
    k = kernel.shape
    return (None not in (h, w, *k) and k[0] == k[1] and k[0] % 2 == 1 and str(padding).lower() == "same"
            and set(_pair(dilation_rate)) == {1}
            and h * w <= CONV_MATMUL_MAX_PIXELS and min(c, k[3]) >= CONV_MATMUL_MIN_CHANNELS)


def _stride1_2d_nhwc(inputs, kernel, strides, data_format) -> bool:
    """Whether a conv is 2-D, channels-last, stride 1 and ungrouped (the input's known channel count is the
    kernel's): the convs both trace-time rewrites start from."""
    import keras

    fmt = data_format or keras.config.image_data_format()
    return (len(inputs.shape) == 4 and len(kernel.shape) == 4 and fmt == "channels_last"
            and set(_pair(strides)) == {1} and inputs.shape[-1] is not None and inputs.shape[-1] == kernel.shape[-2])


def _pair(v) -> tuple:
    """An int (numpy's too) or a sequence of ints -> a tuple (an int x -> (x, x))."""
    import numbers

    return (int(v),) * 2 if isinstance(v, numbers.Integral) else tuple(int(x) for x in v)


def _native_dilations(inputs, kernel, strides, data_format, dilation_rate) -> tuple[int, int] | None:
    """The (height, width) dilation of a conv that oneDNN can run as one op, else ``None``."""
    import keras

    # oneDNN's dilated kernels (forward and both gradients) are float32 and, on CPUs with bf16 units, bfloat16;
    # float16 falls back to TensorFlow's own kernels, which have no dilated gradient
    dtypes = ("float32", "bfloat16") if bf16_available() else ("float32",)
    dilations = _pair(dilation_rate)
    plain = (keras.backend.standardize_dtype(inputs.dtype) in dtypes
             and _stride1_2d_nhwc(inputs, kernel, strides, data_format)
             and len(dilations) == 2 and dilations != (1, 1))
    return dilations if plain else None


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


def _first_step_timer_class():
    import time

    import keras

    class FirstStepTimer(keras.callbacks.Callback):
        """Prints how long ``fit()``'s first step took (tracing, and with XLA compiling, the train step)."""

        def __init__(self, xla: bool):
            super().__init__()
            self.xla, self.t0 = xla, None

        def on_train_begin(self, logs=None):
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if self.t0 is not None:
                what = "trace + XLA compile" if self.xla else "trace"
                log(f"first step ({what} + run) took {time.perf_counter() - self.t0:.1f} s")
                self.t0 = None

    return FirstStepTimer


def __getattr__(name: str):
    # FirstStepTimer is a keras callback: built on first use, so importing this module imports neither Keras nor
    # TensorFlow (the command-line tools call prefer_onednn before TensorFlow starts)
    if name == "FirstStepTimer":
        globals()[name] = cls = _first_step_timer_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
