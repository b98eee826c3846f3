"""facehalluc.utils.fastpath: the CPU kind, and the XLA / precision choices made from it."""
from __future__ import annotations

import os
import platform
import sys

import pytest

from facehalluc.config import PRESETS, load_config
from facehalluc.utils import fastpath

AMX = {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "fma"}


@pytest.mark.parametrize("flags, kind", [
    (AMX, "amx"),
    (AMX - {"amx_tile"}, "avx512_bf16"),
    ({"avx2", "avx512f", "avx512_bf16"}, "avx512_bf16"),
    ({"avx2", "avx512f", "avx512_vnni"}, "avx512"),
    ({"avx", "avx2", "fma"}, "avx2"),
    ({"sse4_2"}, "other"),
    (set(), "other"),
])
def test_cpu_kind(flags, kind):
    assert fastpath.cpu_kind(frozenset(flags)) == kind


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu avx2 avx512f\n\n"
                    "processor\t: 1\nflags\t\t: fpu\n")
    assert fastpath.cpu_flags(info) == {"fpu", "avx2", "avx512f"}
    assert fastpath.cpu_model(info) == "Test CPU"
    assert fastpath.cpu_kind(fastpath.cpu_flags(info)) == "avx512"
    assert fastpath.cpu_flags(tmp_path / "absent") == frozenset()


def _assert_follows(table: dict, choose) -> None:
    """``choose(kind, width_divisor)`` (an ``auto`` setting) gives each entry of a by-width table, and says why."""
    for kind, by_width in table.items():
        for wc, faster in by_width.items():
            c = choose(kind, 1 if wc == "wide" else 8)
            assert c.on is faster and kind in c.reason and f"{wc} generator" in c.reason
            assert "not measured" not in c.reason


def test_train_xla_follows_the_measured_table():
    _assert_follows(fastpath.TRAIN_XLA_FASTER, lambda kind, wd: fastpath.train_xla("auto", kind, wd))
    assert fastpath.train_xla("auto", "avx2", 1).on  # issue 24: XLA 1.7x faster on the AVX2 EPYC
    assert not fastpath.train_xla("auto", "amx", 1).on and not fastpath.train_xla("auto", "amx", 8).on
    # Zen 4 (avx512_bf16): paper widths XLA 1.05x graph, the ÷ 8 generator graph faster (amd_avx512bf16_*.json)
    assert fastpath.train_xla("auto", "avx512_bf16", 1).on and not fastpath.train_xla("auto", "avx512_bf16", 8).on
    assert not fastpath.train_xla("auto", "other").on  # never measured: graph mode
    assert "not measured" in fastpath.train_xla("auto", "other").reason
    for kind in fastpath.KINDS:
        assert fastpath.train_xla("on", kind).on and not fastpath.train_xla("off", kind).on
        assert fastpath.train_xla(True, kind).on and not fastpath.train_xla(False, kind).on
    with pytest.raises(ValueError):
        fastpath.train_xla("sometimes")


def test_infer_xla_table_and_environment(monkeypatch):
    monkeypatch.delenv("FACEHALLUC_INFER_XLA", raising=False)
    for kind in fastpath.KINDS:
        for n in (1, fastpath.SMALL_BATCH, fastpath.SMALL_BATCH + 1, 16):
            cls = "single" if n <= fastpath.SMALL_BATCH else "batch"
            assert fastpath.infer_batch_class(n) == cls
            assert fastpath.infer_xla(kind, n).on is fastpath.INFER_XLA_FASTER.get(kind, {}).get(cls, False)
    assert "batch class single" in fastpath.infer_xla("amx", 1).reason
    monkeypatch.setenv("FACEHALLUC_INFER_XLA", "1")
    assert fastpath.infer_xla("other").on and fastpath.infer_xla("other", 1).on
    monkeypatch.setenv("FACEHALLUC_INFER_XLA", "0")
    assert not fastpath.infer_xla("avx2").on


def test_precision_policy_is_the_one_mapping():
    assert fastpath.precision_policy(False, "bfloat16", "amx")[0] == "float32"
    assert fastpath.precision_policy(True, "bfloat16", "amx") == ("mixed_bfloat16", "bfloat16")
    assert "no bf16 units" in fastpath.precision_policy(True, "bfloat16", "avx2")[1]
    assert fastpath.precision_policy(True, "float16", "avx2")[0] == "mixed_float16"
    assert fastpath.bf16_available("avx512_bf16") and not fastpath.bf16_available("avx512")


def test_config_xla_values():
    assert load_config("tiny").train.xla == "off"  # tests and demos never pay for XLA compiles
    for name in PRESETS:
        if name != "tiny":
            assert load_config(name).train.xla == "auto", name
    # old configs and --xla: booleans
    assert load_config("paper", ["train.xla=true"]).train.xla == "on"
    assert load_config("paper", ["train.xla=false"]).train.xla == "off"
    assert load_config("paper", ["train.xla=on"]).train.xla == "on"
    with pytest.raises(ValueError):
        load_config("paper", ["train.xla=maybe"])


def test_inference_xla_computes_what_graph_mode_computes():
    """The XLA inference path (cascade compiled, anti-aliased pyramid in graph mode) gives graph mode's outputs."""
    import keras
    import numpy as np

    from facehalluc.infer.engine import from_keras
    from facehalluc.models import build_cascade

    cfg = load_config("tiny", ["model.pyramid_antialias=true"])
    keras.utils.set_random_seed(3)
    graph_model = build_cascade(cfg)
    xla_model = build_cascade(cfg)
    xla_model.set_weights(graph_model.get_weights())
    x = np.zeros((2, 128, 128, 3), "float32")
    x[:, 32:96, 40:88] = np.random.default_rng(0).uniform(0.1, 1, (2, 64, 48, 3))
    a = from_keras(graph_model, cfg, jit_compile=False).run(x)
    h = from_keras(xla_model, cfg, jit_compile=True)
    assert getattr(xla_model, "_xla_call", False) and not getattr(graph_model, "_xla_call", False)
    b = h.run(x)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(b[k], a[k], atol=1e-4)


def _tiny_cascade_and_faces(seed: int, face_seed: int, n: int = 3):
    """The tiny preset's cascade with random weights (``seed``) and ``n`` 128-px faces, black outside a box."""
    import keras
    import numpy as np

    from facehalluc.models import build_cascade

    cfg = load_config("tiny")
    keras.utils.set_random_seed(seed)
    model = build_cascade(cfg)
    x = np.zeros((n, 128, 128, 3), "float32")
    x[:, 32:96, 40:88] = np.random.default_rng(face_seed).uniform(0.1, 1, (n, 64, 48, 3))
    return cfg, model, x


def _xla_calls(fn, *args) -> int:
    """How many call ops in ``fn``'s traced graph (nested functions included) carry XLA's must-compile mark."""
    graph = fn.get_concrete_function(*args).graph
    seen, stack, count = set(), [graph], 0
    while stack:
        g = stack.pop()
        for op in g.get_operations():
            try:
                count += bool(op.get_attr("_XlaMustCompile"))
            except ValueError:
                pass
        for name, f in getattr(g, "_functions", {}).items():
            if name not in seen:
                seen.add(name)
                stack.append(f.graph)
    return count


def test_inference_picks_xla_per_batch_class(monkeypatch):
    """A kind whose table says XLA for small batches and graph mode above: a batch of 1 runs the compiled cascade,
    a batch of 3 the plain one, both giving graph mode's outputs; one kind's choice for both classes keeps one
    function pair."""
    import numpy as np
    import tensorflow as tf

    from facehalluc.infer.engine import _BySize, from_keras

    monkeypatch.delenv("FACEHALLUC_INFER_XLA", raising=False)
    monkeypatch.setitem(fastpath.INFER_XLA_FASTER, "other", {"single": True, "batch": False})
    monkeypatch.setattr(fastpath, "this_cpu_kind", lambda: "other")
    cfg, model, x = _tiny_cascade_and_faces(4, 1)
    plain = from_keras(model, cfg, jit_compile=False)
    want = plain.run(x)
    h = from_keras(model, cfg)
    assert isinstance(h._default, _BySize) and isinstance(h._with_mask, _BySize)
    one, three = tf.constant(x[:1]), tf.constant(x)
    assert _xla_calls(h._default.small, one) >= 1 and _xla_calls(h._default.large, three) == 0
    assert _xla_calls(plain._default, one) == 0  # jit_compile=False stays graph mode on a patched cascade
    for got in (h.run(x[:1]), h.run(x)):
        n = len(got["out_128"])
        for k in want:
            np.testing.assert_allclose(got[k], want[k][:n], atol=1e-4)  # XLA vs graph fusion order (as above)
    monkeypatch.setitem(fastpath.INFER_XLA_FASTER, "other", {"single": False, "batch": False})
    assert not isinstance(from_keras(model, cfg)._default, _BySize)


# ---------------------------------------------------------------------- native dilated convolutions (issue 24)
_DILATION_SCRIPT = r"""
import json, sys, threading
import numpy as np, tensorflow as tf, keras
sys.path.insert(0, {repo!r})
from facehalluc.utils import fastpath

rng = np.random.default_rng(0)
x = tf.constant(rng.standard_normal((2, 16, 16, 6)).astype("float32"))
layers = [keras.layers.Conv2D(5, 3, padding="same", dilation_rate=2, name="dilated"),
          keras.layers.Conv2D(4, 3, padding="valid", dilation_rate=(2, 3), name="dilated_valid"),
          keras.layers.Conv2D(4, 3, strides=2, padding="same", name="strided"),
          keras.layers.Conv2D(4, 3, padding="same", dilation_rate=2, groups=2, name="grouped")]
for l in layers:
    l.build(x.shape)

def step(native):
    def f(t):
        ctx = fastpath.native_dilated_conv() if native else __import__("contextlib").nullcontext()
        with ctx, tf.GradientTape() as tape:
            tape.watch(t)
            ys = [l(t) for l in layers]
            loss = tf.add_n([tf.reduce_sum(tf.sin(y)) for y in ys])
        weights = [l.kernel for l in layers]
        return ys + tape.gradient(loss, [t] + weights)
    return tf.function(f)

def op_counts(fn):
    ops = [op for op in fn.get_concrete_function(x).graph.get_operations()]
    dilated = sum(op.type == "Conv2D" and list(op.get_attr("dilations")) != [1, 1, 1, 1] for op in ops)
    return {{"space_to_batch": sum(op.type == "SpaceToBatchND" for op in ops), "dilated_conv2d": dilated}}

native, stock = step(True), step(False)
out = {{"on": fastpath.native_dilation().on, "native": op_counts(native), "stock": op_counts(stock)}}
a, b = native(x), stock(x)
out["max_rel"] = max(float(np.max(np.abs(p - q)) / np.max(np.abs(q))) for p, q in zip(a, b))
seen = {{}}
with fastpath.native_dilated_conv():  # another thread tracing meanwhile gets the stock lowering
    t = threading.Thread(target=lambda: seen.update(op_counts(step(False))))
    t.start(); t.join()
out["other_thread"] = seen
print("RESULT" + json.dumps(out))
"""


X86_LINUX = sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.parametrize("onednn", [
    pytest.param("1", marks=pytest.mark.skipif(not X86_LINUX, reason="TensorFlow's oneDNN kernels: x86-64 Linux")),
    "0"])
def test_native_dilated_conv_is_one_op_with_the_same_values_and_gradients(onednn):
    """Inside ``native_dilated_conv`` (oneDNN on) a dilated stride-1 conv traces to one ``Conv2D`` with
    ``dilations`` (forward, and its gradients need no space-to-batch either); strided and grouped convs keep the
    stock lowering; outputs and the input / kernel gradients equal the stock lowering's.  With oneDNN off it does
    nothing (TensorFlow's own CPU kernels have no dilated gradient).  A subprocess per setting, so the result
    does not depend on whether this CPU turns oneDNN on by default.

    Tolerance 1e-5 relative: the two lowerings sum the same 3x3xC products in another order (float32 rounding,
    ~1e-7 relative per sum); the space-to-batch reshuffle moves no values."""
    import json
    import os
    import subprocess
    import sys

    from support.paths import REPO

    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("FACEHALLUC_NATIVE_DILATION", None)
    proc = subprocess.run([sys.executable, "-c", _DILATION_SCRIPT.format(repo=str(REPO))], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    assert out["stock"]["space_to_batch"] >= 2 and out["stock"]["dilated_conv2d"] == 0
    assert out["other_thread"] == out["stock"]
    assert out["max_rel"] <= 1e-5
    if onednn == "1":
        assert out["on"]
        # the grouped conv (Keras lowers it through XLA) keeps its own path; both plain dilated convs are native
        assert out["native"]["dilated_conv2d"] >= 2
        assert out["native"]["space_to_batch"] == out["stock"]["space_to_batch"] - 2 * 2  # forward + gradient each
    else:
        assert not out["on"] and out["native"] == out["stock"]


def test_native_dilation_switch(monkeypatch):
    monkeypatch.setenv("FACEHALLUC_NATIVE_DILATION", "0")
    assert not fastpath.native_dilation().on
    with fastpath.native_dilated_conv() as acting:
        assert not acting


def test_infer_freeze_threshold_and_environment(monkeypatch):
    monkeypatch.delenv("FACEHALLUC_INFER_FREEZE", raising=False)
    assert fastpath.infer_freeze(24_640_000).on  # the shipped generator (6.16 M float32 weights)
    assert not fastpath.infer_freeze(1_571_070_524).on  # the paper widths (392.8 M float32 weights)
    assert fastpath.infer_freeze(fastpath.INFER_FREEZE_MAX_BYTES).on
    assert not fastpath.infer_freeze(fastpath.INFER_FREEZE_MAX_BYTES + 1).on
    monkeypatch.setenv("FACEHALLUC_INFER_FREEZE", "0")
    assert not fastpath.infer_freeze(1000).on
    monkeypatch.setenv("FACEHALLUC_INFER_FREEZE", "1")
    assert fastpath.infer_freeze(1_571_070_524).on and not fastpath.infer_freeze(2**31).on


def _graph_nodes(concrete) -> list:
    """Every node of a concrete function's graph, its nested functions' included."""
    graph_def = concrete.graph.as_graph_def()
    return list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]


def test_frozen_inference_reads_no_variables_and_keeps_the_weights_it_froze():
    """``freeze=True`` (what load_hallucinator does for the shipped widths, after 256 faces): the traced function
    reads no variables, gives the live function's outputs, and keeps the weights it froze when the model changes
    after (the default ``freeze=False`` follows the model).  Tolerance 1e-5 on [0, 1] images: grappler folds constants
    in the frozen graph (same products, another rounding order; 0 to 4e-7 measured)."""
    import numpy as np

    from facehalluc.infer.engine import _Frozen, from_keras

    cfg, model, x = _tiny_cascade_and_faces(5, 2)
    live = from_keras(model, cfg, jit_compile=False)
    frozen = from_keras(model, cfg, jit_compile=False, freeze=True)
    assert isinstance(frozen._default, _Frozen) and not isinstance(live._default, _Frozen)
    want, got = live.run(x), frozen.run(x)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=1e-5)
    (concrete, _, _), = frozen._default.frozen.values()
    ops = {n.op for n in _graph_nodes(concrete)}
    assert not ops & {"ReadVariableOp", "VarHandleOp", "ResourceGather"}, ops & {"ReadVariableOp", "VarHandleOp"}
    # the default of a loaded model for single faces on some kinds: frozen around an XLA-compiled cascade
    frozen_xla = from_keras(model, cfg, jit_compile=True, freeze=True)
    one = x[:1]
    for k, v in frozen_xla.run(one).items():
        np.testing.assert_allclose(v, want[k][:1], atol=1e-4)  # XLA vs graph fusion order (as above)
    (concrete_xla, _, _), = frozen_xla._default.frozen.values()
    # the compiled call survives the freezing
    assert sum(n.attr["_XlaMustCompile"].b for n in _graph_nodes(concrete_xla)) >= 1
    model.set_weights([w * 0.5 for w in model.get_weights()])
    changed = live.run(x)
    assert np.abs(changed["out_128"] - want["out_128"]).max() > 1e-3  # the live function follows the model
    np.testing.assert_array_equal(frozen.run(x)["out_128"], got["out_128"])  # the frozen one does not


def test_frozen_inference_binds_its_inputs_without_formatting_them(monkeypatch):
    """The frozen function is called through a tf.function with its input signature: called directly, its
    structured signature (no parameters) first fails to bind the faces and formats their values into a discarded
    TypeError (~5 % of a call).  Formatting an eager tensor's values now fails the test."""
    import numpy as np
    import tensorflow as tf

    from facehalluc.infer.engine import from_keras

    cfg, model, x = _tiny_cascade_and_faces(5, 2)
    h = from_keras(model, cfg, jit_compile=False, freeze=True)
    want = h.run(x)  # traces and freezes (tracing may format symbolic tensors; that is cheap)
    eager = next(c for c in type(tf.constant(0.0)).__mro__ if "__repr__" in vars(c))

    def no_repr(self):
        raise AssertionError("an input tensor's values were formatted")

    monkeypatch.setattr(eager, "__repr__", no_repr)
    got = h.run(x)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_loaded_generator_freezes_after_the_set_number_of_faces(monkeypatch):
    """``freeze=None`` (load_hallucinator): the live function runs the first ``INFER_FREEZE_AFTER_FACES`` faces of
    an input signature, the frozen one every call after; a signature of its own (with a mask) counts apart."""
    import keras
    import numpy as np

    from facehalluc.infer.engine import _Frozen, from_keras
    from facehalluc.models import build_cascade

    monkeypatch.delenv("FACEHALLUC_INFER_FREEZE", raising=False)
    monkeypatch.setattr(fastpath, "INFER_FREEZE_AFTER_FACES", 4)
    cfg = load_config("tiny")
    keras.utils.set_random_seed(6)
    h = from_keras(build_cascade(cfg), cfg, jit_compile=False, freeze=None)
    assert isinstance(h._default, _Frozen) and h._default.after == 4
    x = np.zeros((3, 128, 128, 3), "float32")
    x[:, 32:96, 40:88] = 0.5
    first = h.run(x)
    assert not h._default.frozen  # 3 faces seen
    h.run(x)
    assert not h._default.frozen  # 6 faces seen: the next call freezes
    third = h.run(x)
    assert len(h._default.frozen) == 1 and not h._with_mask.frozen
    np.testing.assert_allclose(third["out_128"], first["out_128"], atol=1e-5)  # constant folding's rounding


def test_prefer_onednn_turns_it_on_for_x86_kinds_before_tensorflow_starts(monkeypatch):
    # setenv first, so monkeypatch records the variable's state before the test and puts it back after (a bare
    # delenv of an unset variable records nothing, and prefer_onednn's own write would leak into later tests)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "record")
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    monkeypatch.setattr(fastpath, "_tensorflow_imported", lambda: False)
    for kind in ("avx2", "avx512", "amx"):
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
        monkeypatch.setattr(fastpath, "this_cpu_kind", lambda kind=kind: kind)
        assert fastpath.prefer_onednn().on
        assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"
    for user in ("0", "False"):  # the user's setting wins (any case, as TensorFlow reads it)
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", user)
        assert not fastpath.prefer_onednn().on and os.environ["TF_ENABLE_ONEDNN_OPTS"] == user
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    monkeypatch.setattr(fastpath, "this_cpu_kind", lambda: "other")
    assert not fastpath.prefer_onednn().on and "TF_ENABLE_ONEDNN_OPTS" not in os.environ
    monkeypatch.setattr(fastpath, "this_cpu_kind", lambda: "avx2")
    monkeypatch.setattr(fastpath, "_tensorflow_imported", lambda: True)  # too late: nothing set
    assert not fastpath.prefer_onednn().on and "TF_ENABLE_ONEDNN_OPTS" not in os.environ


def test_fastpath_imports_neither_keras_nor_tensorflow():
    """The command-line tools import it (through utils.quiet) before TensorFlow may start."""
    import subprocess
    import sys

    from support.paths import REPO

    code = ("import sys; import facehalluc.utils.quiet, facehalluc.utils.fastpath; "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ element-wise XLA clusters (issue 24)
def test_train_xla_elementwise_follows_its_table_and_never_with_a_compiled_step():
    _assert_follows(fastpath.TRAIN_XLA_ELEMENTWISE_FASTER,
                    lambda kind, wd: fastpath.train_xla_elementwise("auto", False, kind, wd))
    # Zen 4: the ÷ 8 GAN step ~15 % faster (performance.md); paper widths compile the whole step there
    assert fastpath.train_xla_elementwise("auto", False, "avx512_bf16", 8).on
    wide = fastpath.train_xla_elementwise("auto", False, "avx512_bf16", 1)
    assert not wide.on and "not measured" in wide.reason
    for kind in fastpath.KINDS:
        assert not fastpath.train_xla_elementwise("auto", True, kind, 8).on  # the whole step is XLA already
        assert not fastpath.train_xla_elementwise("on", True, kind).on
        assert fastpath.train_xla_elementwise("on", False, kind).on
        assert not fastpath.train_xla_elementwise("off", False, kind, 8).on
    assert not fastpath.train_xla_elementwise("auto", False, "other", 8).on
    with pytest.raises(ValueError):
        fastpath.train_xla_elementwise("sometimes", False)
    # presets: tiny (tests, demos) never pays the cluster compiles; the others follow the table
    assert load_config("tiny").train.xla_elementwise == "off"
    assert load_config("shipped").train.xla_elementwise == "auto"


def test_enable_xla_elementwise_sets_the_flags_only_before_tensorflow_and_never_over_the_users(monkeypatch):
    on = fastpath.Choice(True, "test")
    monkeypatch.setenv("TF_XLA_FLAGS", "--xla_cpu_max_isa=AVX2")  # records the variable, put back after the test
    monkeypatch.setattr(fastpath, "_tensorflow_imported", lambda: False)
    assert fastpath.enable_xla_elementwise(fastpath.Choice(False, "off")) == fastpath.Choice(False, "off")
    assert os.environ["TF_XLA_FLAGS"] == "--xla_cpu_max_isa=AVX2"  # off: nothing set
    assert fastpath.enable_xla_elementwise(on).on
    assert os.environ["TF_XLA_FLAGS"].split() == ["--xla_cpu_max_isa=AVX2", *fastpath.XLA_ELEMENTWISE_FLAGS]
    assert fastpath.xla_elementwise_active()
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")  # the user's own choice wins
    c = fastpath.enable_xla_elementwise(on)
    assert not c.on and "set by the user" in c.reason and os.environ["TF_XLA_FLAGS"] == "--tf_xla_auto_jit=0"
    monkeypatch.delenv("TF_XLA_FLAGS")
    monkeypatch.setattr(fastpath, "_tensorflow_imported", lambda: True)  # too late: TensorFlow read its flags
    c = fastpath.enable_xla_elementwise(on)
    assert not c.on and "imported" in c.reason and "TF_XLA_FLAGS" not in os.environ
    for flags, active in (("", False), ("--tf_xla_auto_jit=2 --x", True), ("--tf_xla_auto_jit=-1", False),
                          ("--tf_xla_auto_jit=1", True), ("--tf_xla_ops_to_cluster=FUSIBLE", False)):
        assert fastpath.xla_elementwise_active({"TF_XLA_FLAGS": flags}) is active, flags


def test_train_start_line_says_what_tensorflow_got(monkeypatch):
    from facehalluc.train.run import xla_elementwise_line

    monkeypatch.setattr(fastpath, "this_cpu_kind", lambda: "avx512_bf16")
    cfg = load_config("shipped")
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    assert "off (" in xla_elementwise_line(cfg, False) and "started without them" in xla_elementwise_line(cfg, False)
    monkeypatch.setenv("TF_XLA_FLAGS", " ".join(fastpath.XLA_ELEMENTWISE_FLAGS))
    assert xla_elementwise_line(cfg, False).startswith("element-wise XLA clusters: on (train.xla_elementwise=auto")
    assert "whole train step" in xla_elementwise_line(cfg, True)
    cfg.train.xla_elementwise = "off"
    assert xla_elementwise_line(cfg, False).startswith("element-wise XLA clusters: on (TF_XLA_FLAGS=")
    monkeypatch.delenv("TF_XLA_FLAGS")
    assert xla_elementwise_line(cfg, False) == "element-wise XLA clusters: off (train.xla_elementwise=off)"


# ------------------------------------------------------- small convolutions as matrix products (issue 24)
def test_train_xla_conv_matmul_follows_its_table_and_needs_a_compiled_step():
    _assert_follows(fastpath.TRAIN_XLA_CONV_MATMUL_FASTER,
                    lambda kind, wd: fastpath.train_xla_conv_matmul("auto", True, kind, wd))
    # (setting, XLA-compiled step, kind, width divisor) -> on, and a word of the reason
    cases = [(("auto", True, "avx512_bf16", 1), True, "measured faster"),  # Zen 4, paper widths: 1.05-1.07x
             (("auto", True, "avx512_bf16", 8), False, "not measured"),  # narrow: graph mode there anyway
             (("auto", True, "other", 1), False, "not measured"),
             *((("on", False, kind, 1), False, "graph mode") for kind in fastpath.KINDS),  # oneDNN's convolutions
             *((("on", True, kind, 8), True, "=on") for kind in fastpath.KINDS),
             *((("off", True, kind, 1), False, "=off") for kind in fastpath.KINDS)]
    for args, on, why in cases:
        c = fastpath.train_xla_conv_matmul(*args)
        assert c.on is on and why in c.reason, (args, c)
    with pytest.raises(ValueError):
        fastpath.train_xla_conv_matmul("sometimes", True)
    assert load_config("tiny").train.xla_conv_matmul == "off"
    assert load_config("paper").train.xla_conv_matmul == "auto"


def _conv_cases(c: int) -> dict:
    """name -> (input shape, kernel shape, keras.ops.conv keywords, whether it fits small_convs_as_matmul);
    ``c`` = CONV_MATMUL_MIN_CHANNELS."""
    same = {"strides": 1, "padding": "same"}
    return {
        "8x8, 3x3": ((2, 8, 8, c), (3, 3, c, c), same, True),
        "4x2, 5x5": ((3, 4, 2, c + 5), (5, 5, c + 5, c + 1), same, True),  # not square; kernel wider than the input
        "16x8: too many pixels": ((1, 16, 8, c), (3, 3, c, 4), same, False),
        "too few input channels": ((2, 8, 8, c - 1), (3, 3, c - 1, c), same, False),
        "too few output channels": ((2, 8, 8, c), (3, 3, c, c - 1), same, False),
        "strided": ((2, 8, 8, c), (3, 3, c, 4), {"strides": 2, "padding": "same"}, False),
        "dilated": ((2, 8, 8, c), (3, 3, c, 4), {**same, "dilation_rate": 2}, False),
        "valid": ((2, 8, 8, c), (3, 3, c, 4), {"strides": 1, "padding": "valid"}, False),
        "even kernel": ((2, 8, 8, c), (2, 2, c, 4), same, False),
    }


@pytest.mark.parametrize("name", list(_conv_cases(8)))
def test_small_convs_as_matmul_computes_the_same_values_and_gradients_where_it_fits(name):
    """Inside ``small_convs_as_matmul(True)`` a conv that fits (stride 1, undilated, ``same``, odd square kernel,
    <= 64 output pixels, >= 256 input and output channels) traces to one ``MatMul`` and no ``Conv2D`` (forward, and
    so both gradients); any other conv keeps the stock lowering.  Outputs and input / kernel gradients equal the stock
    lowering's.

    Tolerance 1e-5 of the largest magnitude: the product sums the same k*k*C terms (up to 25 * 261) as the
    convolution in another order, float32 rounding; 7e-7 measured at 3x3x256."""
    import keras
    import numpy as np
    import tensorflow as tf

    x_shape, k_shape, kw, fits = _conv_cases(fastpath.CONV_MATMUL_MIN_CHANNELS)[name]
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal(x_shape).astype("float32"))
    k = tf.constant((0.05 * rng.standard_normal(k_shape)).astype("float32"))
    probe = tf.constant(rng.standard_normal(keras.ops.conv(x, k, **kw).shape).astype("float32"))

    def traced(on: bool, block: bool = True):
        def f(x, k):
            ctx = fastpath.small_convs_as_matmul(on) if block else __import__("contextlib").nullcontext()
            with ctx, tf.GradientTape() as tape:
                tape.watch([x, k])
                y = keras.ops.conv(x, k, **kw)
                loss = tf.reduce_sum(tf.sin(y) * probe)
            return [y, *tape.gradient(loss, [x, k])]
        return tf.function(f)

    def op_types(fn) -> list[str]:
        return [op.type for op in fn.get_concrete_function(x, k).graph.get_operations()]

    mm, stock = traced(True), traced(False)
    types, stock_types = op_types(mm), op_types(stock)
    assert "MatMul" not in stock_types and any(t.startswith("Conv2D") for t in stock_types)
    if fits:
        assert types.count("MatMul") == 3  # forward, and the two gradients of the one product
        assert not any(t.startswith("Conv") for t in types)
    else:
        assert types == stock_types
    assert op_types(traced(True, block=False)) == stock_types  # outside the block: the stock lowering
    a, b = mm(x, k), stock(x, k)
    for p, q in zip(a, b):
        assert p.shape == q.shape
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=0, atol=1e-5 * float(np.max(np.abs(q))))


def test_small_convs_as_matmul_compiles_under_xla_and_stays_in_its_thread():
    """The product form compiles with XLA (what the train step does) to the stock values, and a thread that is
    not inside the block meanwhile traces the stock lowering."""
    import threading

    import keras
    import numpy as np
    import tensorflow as tf

    c = fastpath.CONV_MATMUL_MIN_CHANNELS
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((2, 4, 4, c)).astype("float32"))
    k = tf.constant((0.05 * rng.standard_normal((3, 3, c, c))).astype("float32"))

    def fn(on: bool):
        def f(x, k):
            with fastpath.small_convs_as_matmul(on), tf.GradientTape() as tape:
                tape.watch(k)
                y = keras.ops.conv(x, k, 1, "same")
                loss = tf.reduce_sum(y * y)
            return y, tape.gradient(loss, k)
        return f

    xla = tf.function(fn(True), jit_compile=True)
    assert " dot(" in xla.experimental_get_compiler_ir(x, k)(stage="hlo")
    for p, q in zip(xla(x, k), tf.function(fn(False))(x, k)):
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=0, atol=1e-5 * float(np.max(np.abs(q))))
    seen = []
    with fastpath.small_convs_as_matmul(True):
        t = threading.Thread(target=lambda: seen.extend(
            op.type for op in tf.function(lambda x, k: keras.ops.conv(x, k, 1, "same"))
            .get_concrete_function(x, k).graph.get_operations()))
        t.start()
        t.join()
    assert "Conv2D" in seen and "MatMul" not in seen


def test_the_trainer_traces_its_step_with_products_only_when_compiled_with_them(monkeypatch):
    """``GANTrainer.compile(jit_compile=True, conv_matmul=True)`` (what train.py does where
    ``train.xla_conv_matmul`` is on) traces its train step inside ``small_convs_as_matmul``; without XLA the flag
    does nothing.  The tiny model's blocks are too narrow for the 256-channel limit, so the test lowers it."""
    import tensorflow as tf
    from support.train_helpers import small_config

    from facehalluc.losses import build_loss_networks
    from facehalluc.models import build_cascade
    from facehalluc.train.trainer import GANTrainer, make_optimizers

    monkeypatch.setattr(fastpath, "CONV_MATMUL_MIN_CHANNELS", 1)
    cfg = small_config((8, 16), ["loss.use_adv=false"])
    batch = {}
    for r in cfg.model.resolutions:
        batch.update({f"full_{r}": tf.zeros((4, r, r, 3)), f"masked_{r}": tf.zeros((4, r, r, 3)),
                      f"mask_{r}": tf.ones((4, r, r, 1))})

    def counts(jit: bool, conv_matmul: bool) -> tuple[int, int, bool]:
        t = GANTrainer(build_cascade(cfg), {}, cfg, build_loss_networks(cfg))
        t.compile(*make_optimizers(cfg), jit_compile=jit, conv_matmul=conv_matmul)
        # traced without compiling: the ops the step is made of (XLA would compile this graph)
        ops = tf.function(t.train_step).get_concrete_function(batch).graph.get_operations()
        return (sum(op.type == "MatMul" for op in ops), sum(op.type.startswith("Conv2D") for op in ops),
                t.conv_matmul)

    stock = counts(True, False)
    products = counts(True, True)
    assert counts(False, True) == stock  # graph mode: the flag does nothing
    assert not stock[2] and products[2]
    # block 8's same-padded 3x3 / 5x5 convolutions (8x8 = 64 pixels) became products, each with its two gradients
    assert products[0] > stock[0] and products[1] < stock[1]
    assert products[0] - stock[0] == 3 * ((stock[1] - products[1]) // 3)
