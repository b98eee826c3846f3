"""Identity-classification CNNs whose penultimate layer is the verification embedding (paper §4.4).

The paper fine-tunes a ResNet-50 on CASIA-WebFace identities and matches faces with the 256-D output
of its penultimate ``feat_extract`` layer.  :func:`build_recognizer` builds the same structure at any
scale, from Keras layers only (no backend-specific code)::

    input (S, S, 3) in [0, 255]  ->  x / 127.5 - 1
      -> backbone (``arch="resnet"``: the small ResNet below; ``arch="resnet50"``:
         ``keras.applications.ResNet50(weights=None, include_top=False)``)
      -> global average pooling
      -> Dense(embedding_dim) -> BatchNorm          = "embedding" (the penultimate layer, used for matching)
      -> Dense(n_classes, softmax)                  = "logits"    (identity classifier, training only)

Small ResNet (``arch="resnet"``): a 3x3 stem conv (stride 2 when ``stem_stride=2``), then
``len(widths)`` stages of ``blocks_per_stage`` basic residual blocks (two 3x3 conv + BN, identity
shortcut, or a 1x1 stride-2 projection where the width or resolution changes); every stage but the first
halves the resolution.  With the defaults (widths 16-32-64-128, one block per stage, stem stride 2) at
64x64 it has ~0.33 M parameters (+ 129 per identity in the classifier) and ~16 M multiply-adds per
image: ~500-1000 training images per second on one CPU core (widths 32-64-128-256: ~1.3 M parameters,
~3x slower).  A GPU user who wants the paper's network passes ``arch="resnet50"``
(``input_size`` 112 or more; ~24 M parameters).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RecognizerConfig:
    input_size: int = 64
    arch: str = "resnet"  # "resnet" (small, below) or "resnet50" (keras.applications, paper scale)
    widths: tuple[int, ...] = (16, 32, 64, 128)
    blocks_per_stage: int = 1
    stem_stride: int = 2
    embedding_dim: int = 128
    weight_decay: float = 5e-4  # L2 on conv / dense kernels (added to the loss)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @staticmethod
    def from_dict(d: dict) -> "RecognizerConfig":
        d = dict(d)
        if "widths" in d:
            d["widths"] = tuple(int(w) for w in d["widths"])
        return RecognizerConfig(**d)


ARCHS = ("resnet", "resnet50")


def _conv(filters: int, kernel: int, stride: int, wd: float, name: str):
    import keras

    return keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                               kernel_initializer="he_normal",
                               kernel_regularizer=keras.regularizers.L2(wd) if wd else None, name=name)


def _basic_block(x, filters: int, stride: int, wd: float, name: str):
    import keras
    from keras import layers

    shortcut = x
    y = _conv(filters, 3, stride, wd, f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.Activation("relu", name=f"{name}_relu1")(y)
    y = _conv(filters, 3, 1, wd, f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2", gamma_initializer="zeros")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, stride, wd, f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.Activation("relu", name=f"{name}_out")(y)


def _small_resnet(x, cfg: RecognizerConfig):
    from keras import layers

    x = _conv(cfg.widths[0], 3, cfg.stem_stride, cfg.weight_decay, "stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for s, width in enumerate(cfg.widths):
        for b in range(cfg.blocks_per_stage):
            stride = 2 if (s > 0 and b == 0) else 1
            x = _basic_block(x, width, stride, cfg.weight_decay, f"stage{s + 1}_block{b + 1}")
    return x


def build_recognizer(n_classes: int, cfg: RecognizerConfig = RecognizerConfig()):
    """Returns ``(classifier, embedder)``: two Keras models sharing weights.  ``classifier`` maps
    (B, S, S, 3) images in [0, 255] to (B, n_classes) softmax probabilities; ``embedder`` maps them
    to the (B, embedding_dim) penultimate features used for verification."""
    import keras
    from keras import layers

    if cfg.arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {cfg.arch!r}")
    if n_classes < 2:
        raise ValueError(f"need at least 2 identities to train a classifier, got {n_classes}")
    s = int(cfg.input_size)
    inp = keras.Input((s, s, 3), name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(inp)
    if cfg.arch == "resnet":
        x = _small_resnet(x, cfg)
    else:
        backbone = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(s, s, 3))
        x = backbone(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    reg = keras.regularizers.L2(cfg.weight_decay) if cfg.weight_decay else None
    x = layers.Dense(cfg.embedding_dim, use_bias=False, kernel_regularizer=reg, name="feat_dense")(x)
    emb = layers.BatchNormalization(name="embedding")(x)
    out = layers.Dense(n_classes, activation="softmax", kernel_regularizer=reg, name="logits")(emb)
    classifier = keras.Model(inp, out, name=f"recognizer_{cfg.arch}")
    embedder = keras.Model(inp, emb, name=f"embedder_{cfg.arch}")
    return classifier, embedder
