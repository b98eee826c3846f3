"""A generator ready for inference, from a training run directory or an exported SavedModel."""
from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np

from ..config import Config
from ..store.spec import ModelPathError  # noqa: F401 - re-exported (its home is facehalluc.store)
from ..utils.fastpath import infer_batch_class, native_dilated_conv

Outputs = dict[str, np.ndarray]


def name_seed(name: str) -> int:
    """A stable 32-bit number for a file stem (crc32), so a face's noise does not depend on its batch."""
    return zlib.crc32(str(name).encode("utf-8"))


def by_resolution(keys) -> list[str]:
    """``noise_r`` / ``out_r`` names in ascending r (the order the generator's noise inputs take)."""
    return sorted(keys, key=lambda k: int(k.split("_")[-1]))


def draw_noise(shapes: dict[str, tuple[int, ...]], row_seeds: Sequence) -> dict[str, np.ndarray]:
    """Style noise for a batch: row i is drawn from ``numpy.random.default_rng(row_seeds[i])`` (an int or a
    tuple of ints), the ``noise_r`` arrays in ascending r, standard normal float32.  numpy's generator gives
    the same numbers on every platform, so a seed names one sample everywhere."""
    keys = by_resolution(shapes)
    rows: dict[str, list] = {k: [] for k in keys}
    for s in row_seeds:
        rng = np.random.default_rng(s)
        for k in keys:
            rows[k].append(rng.standard_normal(shapes[k], dtype=np.float32))
    return {k: np.stack(v) if v else np.zeros((0, *shapes[k]), np.float32) for k, v in rows.items()}


@dataclass
class Hallucinator:
    """Runs the generator on 128x128 masked faces (float32 [0, 1], black outside the face).

    ``run(masked)`` derives the face mask from the non-zero pixels; ``run(masked, mask)`` uses the
    given binary mask (N, 128, 128) or (N, 128, 128, 1) (the preprocessor's landmark-hull mask).
    Returns numpy arrays ``out_128`` and, for the cascade, ``out_8`` ... ``out_64``.

    A generator with style noise (``noise_shapes`` non-empty) makes one sample per noise draw: pass ``noise``
    (from :func:`draw_noise`), or ``seed`` (row i then gets sample 0 of face key i, as
    ``one_sample(masked, mask, 0, seed)``); :meth:`sample` gives K samples per face.  Without noise both are ignored and the output is the one deterministic hallucination.
    """

    cfg: Config
    source: str  # "keras" or "savedmodel"
    path: Path | None
    outputs: list[str]
    _default: Callable
    _with_mask: Callable
    keepalive: object = None  # the restored SavedModel object (keeps its variables alive)
    noise_shapes: dict = field(default_factory=dict)  # {"noise_r": (r, r, c)}; empty: deterministic

    @property
    def stochastic(self) -> bool:
        return bool(self.noise_shapes)

    @property
    def resolution(self) -> int:
        return self.cfg.model.resolutions[-1]

    def run(self, masked: np.ndarray, mask: np.ndarray | None = None, *, noise: dict | None = None,
            seed: int = 0) -> Outputs:
        masked = np.asarray(masked, np.float32)
        top = self.resolution
        if masked.ndim != 4 or masked.shape[1:] != (top, top, 3):
            raise ValueError(f"masked faces must be (N, {top}, {top}, 3), got {masked.shape}")
        z = self._noise_list(masked.shape[0], noise, seed)
        if mask is None:
            out = self._default(masked, *z)
        else:
            mask = np.asarray(mask, np.float32)
            if mask.ndim == 3:
                mask = mask[..., None]
            if mask.shape != masked.shape[:3] + (1,):
                raise ValueError(f"mask must be (N, {top}, {top}[, 1]) matching masked, got {mask.shape}")
            out = self._with_mask(masked, mask, *z)
        return {k: np.asarray(v) for k, v in out.items()}

    def sample(self, masked: np.ndarray, mask: np.ndarray | None = None, k: int = 1, seed: int = 0,
               keys: Sequence | None = None) -> list[Outputs]:
        """``k`` samples per face: sample j of face i uses noise ``default_rng((seed, j, keys[i]))`` (``keys``:
        per-face ints, e.g. :func:`name_seed` of the file stem; default the row index).  A deterministic model
        returns its one output ``k`` times."""
        if k < 1:
            raise ValueError(f"k (samples per face) must be >= 1, got {k}")
        if not self.stochastic:
            out = self.run(masked, mask)
            return [out] * k
        return [self.one_sample(masked, mask, j, seed, keys) for j in range(k)]

    def one_sample(self, masked: np.ndarray, mask: np.ndarray | None = None, j: int = 0, seed: int = 0,
                   keys: Sequence | None = None) -> Outputs:
        """Sample ``j`` of every face (``sample(...)[j]`` without drawing samples 0 … j-1); the one output of a
        deterministic model."""
        if not self.stochastic:
            return self.run(masked, mask)
        return self.run(masked, mask, noise=self._sample_noise(np.asarray(masked).shape[0], j, seed, keys))

    def _sample_noise(self, n: int, j: int, seed: int, keys: Sequence | None) -> dict[str, np.ndarray]:
        keys = list(range(n)) if keys is None else [int(x) for x in keys]
        if len(keys) != n:
            raise ValueError(f"keys: need one per face ({n}), got {len(keys)}")
        return draw_noise(self.noise_shapes, [(seed, j, key) for key in keys])

    def _noise_list(self, n: int, noise: dict | None, seed: int) -> list:
        if not self.noise_shapes:
            return []
        if noise is None:
            noise = self._sample_noise(n, 0, seed, None)
        keys = by_resolution(self.noise_shapes)
        missing = [k for k in keys if k not in noise]
        if missing:
            raise ValueError(f"noise: missing {missing} (this generator takes {keys})")
        out = []
        for k in keys:
            a = np.asarray(noise[k], np.float32)
            if a.shape != (n, *self.noise_shapes[k]):
                raise ValueError(f"noise[{k!r}] must be {(n, *self.noise_shapes[k])}, got {a.shape}")
            out.append(a)
        return out

    __call__ = run


class _XlaSwitch(threading.local):
    """Per thread: whether a cascade patched by :func:`_xla_switch` runs its XLA-compiled call (read when a
    function is traced, so each traced inference function keeps the choice it was traced with).  Off outside
    :func:`_traced`'s functions: anything else that calls the model (a SavedModel export in the same process,
    a training step) gets the plain call, traced by its own function, not the inference functions' XLA traces
    (made inside ``fastpath.native_dilated_conv``)."""
    on = False


_XLA = _XlaSwitch()


def _xla_switch(cascade) -> None:
    """Gives ``cascade`` an XLA-compiled call beside its plain one, picked by :data:`_XLA` (once per cascade)."""
    import tensorflow as tf

    if getattr(cascade, "_xla_call", False):
        return
    plain = cascade.call
    compiled = tf.function(plain, jit_compile=True, reduce_retracing=True)

    def call(*args, **kwargs):
        return (compiled if _XLA.on else plain)(*args, **kwargs)

    cascade.call = call
    cascade._xla_call = True


def _traced(fn: Callable, xla: bool) -> Callable:
    """``fn`` as a tf.function whose trace runs a patched cascade compiled (``xla``) or in graph mode."""
    import tensorflow as tf

    def body(*args):
        before, _XLA.on = _XLA.on, xla
        try:
            with native_dilated_conv():  # at trace time: dilated convolutions as single oneDNN ops
                return fn(*args)
        finally:
            _XLA.on = before

    return tf.function(body, reduce_retracing=True)


class FrozenCall(NamedTuple):
    """One input signature's frozen inference function (:class:`_Frozen`)."""

    graph: Callable  # the ConcreteFunction with the weights as constants
    structure: object  # the traced function's output structure (the graph returns a flat list)
    call: Callable  # the graph behind a tf.function that binds its inputs


class _Frozen:
    """Calls the tf.function ``fn`` with the variables it reads folded into constants (``fastpath.infer_freeze``):
    one frozen concrete function per input signature (the batch dimension left open), built once ``after`` faces
    have gone through that signature (``fn`` itself runs them).  The weights are read when it is built: later
    changes to the model do not reach it."""

    def __init__(self, fn: Callable, after: int = 0):
        self.fn, self.after, self.frozen, self.seen = fn, int(after), {}, {}
        self.lock = threading.Lock()  # two threads crossing the threshold together freeze once

    def __call__(self, *args):
        import tensorflow as tf
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

        args = [tf.convert_to_tensor(a) for a in args]
        key = tuple((a.dtype, tuple(a.shape[1:])) for a in args)
        if key not in self.frozen and self.seen.get(key, 0) < self.after:
            self.seen[key] = self.seen.get(key, 0) + int(args[0].shape[0])
            return self.fn(*args)
        with self.lock:
            if key not in self.frozen:
                specs = [tf.TensorSpec((None, *a.shape[1:]), a.dtype) for a in args]
                concrete = self.fn.get_concrete_function(*specs)
                graph = convert_variables_to_constants_v2(concrete)
                # The frozen function's structured signature takes no arguments: called directly, it first fails
                # to bind them, and the TypeError it then discards formats every input tensor's values into its
                # message (3-5 ms for 8 faces, 0.5-0.6 ms for one: 5-7 % of the call) before its flat signature runs.
                # A tf.function with the input signature binds them once, when it is traced.
                call = tf.function(lambda *a: graph(*a), input_signature=specs)
                self.frozen[key] = FrozenCall(graph, concrete.structured_outputs, call)
        frozen = self.frozen[key]
        return tf.nest.pack_sequence_as(frozen.structure, frozen.call(*args), expand_composites=True)


def weight_bytes(model) -> int:
    """Bytes of ``model``'s weights (what ``fastpath.infer_freeze`` decides on)."""
    return sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in model.weights)


@dataclass
class _BySize:
    """Calls ``small`` for batches of up to ``fastpath.SMALL_BATCH`` faces and ``large`` above."""

    small: Callable
    large: Callable

    def __call__(self, masked, *rest):
        return (self.small if infer_batch_class(int(np.shape(masked)[0])) == "single" else self.large)(masked, *rest)


def from_keras(model, cfg: Config, path: Path | None = None, jit_compile: bool | None = None,
               freeze: bool | None = False) -> Hallucinator:
    """Wraps a Keras inference model (or a cascade) from ``facehalluc.models`` / ``load_generator``.

    ``jit_compile``: compile the generator with XLA; ``None`` = this CPU's fast path for each batch class
    (:func:`facehalluc.utils.fastpath.infer_xla`: small batches and larger ones may differ).
    ``freeze``: fold the weights into the traced functions as constants (faster per call; later changes to
    ``model``'s weights then do not reach the Hallucinator): ``True`` from the first call; ``None`` =
    :func:`facehalluc.utils.fastpath.infer_freeze`, after ``fastpath.INFER_FREEZE_AFTER_FACES`` faces (what
    :func:`load_hallucinator` does: it owns the model it loads); ``False`` (default) for a live model, e.g. one
    that is still training."""
    import keras

    from ..models import noise_shapes
    from ..store.export import as_inference_model, inference_fns
    from ..utils.fastpath import INFER_FREEZE_AFTER_FACES, SMALL_BATCH, infer_freeze, infer_xla

    model = as_inference_model(model, cfg, all_outputs=True)
    default_fn, with_mask_fn, names = inference_fns(model, cfg, all_outputs=True)
    if keras.backend.backend() == "tensorflow":
        from ..store.export import find_cascade

        cascade = find_cascade(model)
        # XLA for the cascade only: the anti-aliased pyramid (ScaleAndTranslate) has no XLA kernel
        xla = {n: cascade is not None and (infer_xla(batch=n).on if jit_compile is None else bool(jit_compile))
               for n in (1, SMALL_BATCH + 1)}
        if any(xla.values()):
            _xla_switch(cascade)
        after = 0
        if freeze is None:
            freeze = infer_freeze(weight_bytes(model)).on
            after = INFER_FREEZE_AFTER_FACES
        wrap = (lambda f: _Frozen(f, after)) if freeze else (lambda f: f)
        fns = {on: (wrap(_traced(default_fn, on)), wrap(_traced(with_mask_fn, on))) for on in set(xla.values())}
        small, large = fns[xla[1]], fns[xla[SMALL_BATCH + 1]]
        default_fn, with_mask_fn = small if small is large else (_BySize(small[i], large[i]) for i in (0, 1))
    return Hallucinator(cfg, "keras", path, names, default_fn, with_mask_fn, noise_shapes=noise_shapes(cfg))


def from_savedmodel(path: str | Path, opened=None) -> Hallucinator:
    """Loads an exported SavedModel (``facehalluc.store.export``) with ``tf.saved_model.load``
    (``opened``: the :class:`facehalluc.store.OpenedModel` when the caller already opened it)."""
    import tensorflow as tf

    from ..store.open import load_savedmodel

    path = Path(path)
    loaded, cfg = (opened.model, opened.cfg) if opened is not None else load_savedmodel(path)
    sigs = loaded.signatures
    if "serving_default" not in sigs:
        raise ModelPathError(f"{path}: SavedModel has no serving_default signature (has {list(sigs)})")
    default = sigs["serving_default"]
    with_mask = sigs["serving_with_mask"] if "serving_with_mask" in sigs else None
    names = sorted(default.structured_outputs, key=lambda k: (k != "out_128", int(k.split("_")[-1])))
    spec = default.structured_input_signature[1]
    shapes = {k: tuple(int(d) for d in v.shape[1:]) for k, v in spec.items() if k.startswith("noise_")}
    order = by_resolution(shapes)

    def run_default(masked, *noise):
        return default(masked=tf.constant(masked), **{k: tf.constant(z) for k, z in zip(order, noise)})

    def run_with_mask(masked, mask, *noise):
        if with_mask is None:  # older export: fall back to the derived mask on masked * mask
            return run_default(masked * (mask >= 0.5), *noise)
        return with_mask(masked=tf.constant(masked), mask=tf.constant(mask),
                         **{k: tf.constant(z) for k, z in zip(order, noise)})

    return Hallucinator(cfg, "savedmodel", path, names, run_default, run_with_mask, keepalive=loaded,
                        noise_shapes=shapes)


def load_hallucinator(path: str | Path | None = "default", weights: str | Path | None = None) -> Hallucinator:
    """``path``: ``"default"`` / ``None`` (the generator shipped in the package), a training run directory
    (``config.yaml`` + ``generator.weights.h5``), a packed folder or a SavedModel directory written by
    :func:`facehalluc.store.export.export_savedmodel`; opened by :func:`facehalluc.store.open_model`."""
    from ..store.open import open_model

    opened = open_model(path, weights)
    if opened.kind == "savedmodel":
        return from_savedmodel(opened.path, opened)
    return from_keras(opened.model, opened.cfg, opened.path, freeze=None)
