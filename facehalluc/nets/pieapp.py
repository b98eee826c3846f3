"""PieAPP v0.1 (Prashnani et al., CVPR 2018) perceptual error, the paper's "Mean Perceptual Error", in Keras 3.

Network (the authors' ``model/PieAPPv0pt1_PT.py``): a shared feature extractor on 64x64 patches --
conv1..conv11 (3x3, pad 1, bias, ReLU; widths 64,64,64,128,128,128,256,256,256,512,512) with 2x2 max pools after
conv2, 4, 6, 8 and 10 -- whose multi-scale feature ``feature_ms`` concatenates the flattened outputs of conv3,
conv5, conv7, conv9 and conv11 (PyTorch NCHW flattening order: 65536+32768+16384+4096+2048 = 120832 values) and
whose coarse feature is conv11's (2048).  With ``d_ms = f_ms(ref) - f_ms(A)`` and ``d_c = f_c(ref) - f_c(A)``:

    score_i  = ref_score_subtract(0.01 * fc2_score(relu(fc1_score(d_ms))))      (Linear(1, 1): w*s + b)
    weight_i = fc2_weight(relu(fc1_weight(d_c))) + 1e-6
    PieAPP(A, ref) = sum_i score_i weight_i / sum_i weight_i      over all sampled patches of the image.

Inputs follow the authors' test script: ``cv2.imread`` images, i.e. **BGR, float 0..255**, not normalised; our
RGB [0, 1] images are converted inside :func:`pieapp_scores`.  Patches: 64x64 on the script's "dense" grid
(stride 6) reproduced exactly by :func:`dense_patch_locations` -- the script walks the image in chunks of 10
patch positions and, inside each chunk, samples ``arange(0, chunk - 64 + 1, 6)``; for a 128x128 image that gives
positions 0, 6, ..., 54, 60 in each direction (11 x 11 = 121 patches; 64 itself is not sampled).

Weights: :func:`convert_pieapp` reads the authors' ``PieAPPv0.1.pth`` (torch format, legacy or zip) via
``facehalluc.weights.torch_pickle`` and writes Keras ``.weights.h5``; registered as ``pieapp_v0.1``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import keras
import numpy as np
from keras import layers

PATCH_SIZE = 64
DENSE_STRIDE = 6
SPARSE_STRIDE = 27
CHUNK_POSITIONS = 10  # the script's num_patches_per_dim
CONV_WIDTHS = (64, 64, 64, 128, 128, 128, 256, 256, 256, 512, 512)
POOL_AFTER = (2, 4, 6, 8, 10)
MS_TAPS = (3, 5, 7, 9, 11)
WEIGHT_EPS = 1e-6
SOURCE_FILENAME = "PieAPPv0.1.pth"
#: parameters of the released network (64x64 patches): 11 convs (5,459,968) + fc1_score (61,866,496) +
#: fc2_score (513) + fc1_weight (1,049,088) + fc2_weight (513) + ref_score_subtract (2).
TOTAL_PARAMS = 68_376_580
DENSE_NAMES = ("fc1_score", "fc2_score", "fc1_weight", "fc2_weight", "ref_score_subtract")


class ConversionError(ValueError):
    """A source weight file does not hold the expected tensors."""


def build_feature_extractor(patch_size: int = PATCH_SIZE) -> keras.Model:
    """(P, p, p, 3) BGR 0..255 patches -> (multi-scale features (P, F_ms), coarse features (P, F_c))."""
    inp = keras.Input((patch_size, patch_size, 3), name="patches")
    x = inp
    taps = []
    for i, width in enumerate(CONV_WIDTHS, start=1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        if i in MS_TAPS:
            # PyTorch flattens NCHW: channel-major order
            taps.append(layers.Flatten(name=f"flat{i}")(layers.Permute((3, 1, 2), name=f"nchw{i}")(x)))
        if i in POOL_AFTER:
            x = layers.MaxPooling2D(2, 2, name=f"pool{i}")(x)
    ms = layers.Concatenate(name="feature_ms")(taps)
    return keras.Model(inp, [ms, taps[-1]], name="pieapp_features")


def build_pieapp(patch_size: int = PATCH_SIZE, name: str = "pieapp_v0.1") -> keras.Model:
    """Keras model: [A patches, ref patches] (P, p, p, 3) BGR 0..255 -> [score (P, 1), weight (P, 1)]."""
    feats = build_feature_extractor(patch_size)
    a = keras.Input((patch_size, patch_size, 3), name="a_patches")
    r = keras.Input((patch_size, patch_size, 3), name="ref_patches")
    a_ms, a_c = feats(a)
    r_ms, r_c = feats(r)
    d_ms = layers.Subtract(name="diff_ms")([r_ms, a_ms])
    d_c = layers.Subtract(name="diff_coarse")([r_c, a_c])
    s = layers.Dense(512, activation="relu", name="fc1_score")(d_ms)
    s = layers.Dense(1, name="fc2_score")(s)
    s = layers.Rescaling(0.01, name="times_0_01")(s)
    s = layers.Dense(1, name="ref_score_subtract")(s)
    w = layers.Dense(512, activation="relu", name="fc1_weight")(d_c)
    w = layers.Dense(1, name="fc2_weight")(w)
    w = layers.Rescaling(1.0, offset=WEIGHT_EPS, name="plus_1e_6")(w)
    model = keras.Model([a, r], [s, w], name=name)
    model.trainable = False
    return model


def dense_patch_locations(size: int, patch: int = PATCH_SIZE, stride: int = DENSE_STRIDE,
                          per_chunk: int = CHUNK_POSITIONS) -> np.ndarray:
    """Top-left patch coordinates along one axis, exactly as the authors' test script samples them."""
    if size < patch:
        raise ValueError(f"PieAPP needs images of at least {patch}x{patch} pixels, got {size}")
    loc = np.concatenate([np.arange(0, size - patch, stride), [size - patch]]).astype(int)
    out: list[int] = []
    for it in range(len(loc) // per_chunk + 1):
        if per_chunk * it >= len(loc):
            break
        start = int(loc[per_chunk * it])
        if per_chunk * (it + 1) >= len(loc):
            extent = size - start
        else:
            extent = int(loc[per_chunk * (it + 1)]) - start + patch - stride
        out += [start + int(o) for o in np.arange(0, extent - patch + 1, stride)]
    return np.array(out, dtype=int)


def extract_patches(img: np.ndarray, locations: np.ndarray, patch: int = PATCH_SIZE) -> np.ndarray:
    """All (y, x) in locations x locations patches of an (H, W, C) image -> (P, patch, patch, C), row-major."""
    return np.stack([img[y:y + patch, x:x + patch] for y in locations for x in locations])


def to_bgr255(img: np.ndarray) -> np.ndarray:
    """RGB uint8 or [0, 1] float -> BGR float32 0..255 (what ``cv2.imread(...).astype('float32')`` gives)."""
    arr = np.asarray(img)
    arr = arr.astype(np.float32) if arr.dtype == np.uint8 else arr.astype(np.float32) * np.float32(255.0)
    return np.ascontiguousarray(arr[..., ::-1])


def pieapp_pair(model: keras.Model, distorted: np.ndarray, reference: np.ndarray,
                stride: int = DENSE_STRIDE) -> float:
    """PieAPP error of one (distorted, reference) RGB pair (H, W, 3), square images."""
    if distorted.shape != reference.shape or distorted.shape[0] != distorted.shape[1]:
        raise ValueError(f"PieAPP: need two square images of equal shape, got {distorted.shape}, "
                         f"{reference.shape}")
    patch = int(model.inputs[0].shape[1])
    loc = dense_patch_locations(distorted.shape[0], patch, stride)
    a = extract_patches(to_bgr255(distorted), loc, patch)
    r = extract_patches(to_bgr255(reference), loc, patch)
    s, w = (np.asarray(t, np.float64)[:, 0] for t in model([a, r], training=False))
    return float((s * w).sum() / w.sum())


def pieapp_scores(model: keras.Model, real: np.ndarray, fake: np.ndarray, progress: bool = False,
                  stride: int = DENSE_STRIDE) -> np.ndarray:
    """Per-pair PieAPP error of hallucinated ``fake`` w.r.t. original ``real`` -> (N,) float64."""
    from tqdm import tqdm

    return np.array([pieapp_pair(model, f, r, stride) for r, f in
                     tqdm(list(zip(real, fake)), desc="PieAPP", disable=not progress, unit="pair")])


def assign_state_dict(model: keras.Model, state: dict[str, np.ndarray], origin: str = "state dict") -> None:
    """Copies the authors' state dict (``conv{i}.weight/bias``, ``fc*.weight/bias``) into ``model``."""
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    feats = model.get_layer("pieapp_features")
    used = set()

    def take(key: str, shape: tuple[int, ...]) -> np.ndarray:
        if key not in state:
            raise ConversionError(f"{origin}: missing tensor {key}")
        v = np.asarray(state[key], np.float32)
        if tuple(v.shape) != shape:
            raise ConversionError(f"{origin}: {key} has shape {v.shape}, expected {shape}")
        used.add(key)
        return v

    for i in range(1, len(CONV_WIDTHS) + 1):
        layer = feats.get_layer(f"conv{i}")
        k, _ = layer.get_weights()
        out_ch, in_ch = k.shape[3], k.shape[2]
        w = take(f"conv{i}.weight", (out_ch, in_ch, 3, 3))
        b = take(f"conv{i}.bias", (out_ch,))
        layer.set_weights([np.transpose(w, (2, 3, 1, 0)), b])
    for name in DENSE_NAMES:
        layer = model.get_layer(name)
        k, _ = layer.get_weights()
        w = take(f"{name}.weight", (k.shape[1], k.shape[0]))
        b = take(f"{name}.bias", (k.shape[1],))
        layer.set_weights([w.T, b])
    extra = sorted(set(state) - used)
    if extra:
        raise ConversionError(f"{origin}: unexpected tensors {extra[:10]}")


def convert_pieapp(sources: Sequence[Path], output: Path, patch_size: int = PATCH_SIZE) -> None:
    """Registry converter: the authors' ``PieAPPv0.1.pth`` -> Keras ``.weights.h5``."""
    from facehalluc.weights.torch_pickle import load_torch_file

    if len(sources) != 1:
        raise ConversionError(f"pieapp_v0.1 needs one source file ({SOURCE_FILENAME}), got {len(sources)}")
    model = build_pieapp(patch_size)
    assign_state_dict(model, load_torch_file(sources[0]), origin=str(sources[0]))
    model.save_weights(str(output))
