"""The configuration's types: one typed section per part of the project and :class:`Config` grouping them, the
rules across fields (:func:`validate`) and values derived from them (:func:`adv_resolutions`).

Every value that the paper states is set in :func:`facehalluc.config.presets.paper`; every value it leaves open is
listed in ``docs/faithfulness.md`` with the field that selects the other reading.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

RESOLUTIONS: tuple[int, ...] = (8, 16, 32, 64, 128)


@dataclass
class ModelConfig:
    """Generator cascade, upscalers and discriminators (paper §3.1, supplementary Tables 1–5)."""

    resolutions: tuple[int, ...] = RESOLUTIONS
    # Channel widths of every conv/dense layer are divided by this (1 = the paper's tables).
    width_divisor: int = 1
    g_leaky_slope: float = 0.1
    d_leaky_slope: float = 0.2
    # Skip connections between encoder/decoder tensors of equal shape: channel concat (U-Net) or addition.
    skip_mode: Literal["concat", "add", "none"] = "concat"
    # Whether the 4x4x1024 encoder output is also skipped to the reshaped fc2 output (same shape).
    bottleneck_skip: bool = False
    # How the face-mask image enters the next block's input: pixel replacement keeps the tables'
    # 3-channel input; "concat" stacks the masked image as 3 extra channels (6-channel input).
    mask_injection: Literal["replace", "concat"] = "replace"
    # A face-mask pixel at resolution r is one whose bilinearly resized binary mask is >= this.
    # 1.0 = entirely inside the face (edge pixels, which the resize darkens with the black context,
    # are hallucinated); 0.5 would also restore the half-covered edge pixels (a dark rim at 8..64).
    mask_threshold: float = 1.0
    # The 8..64 pyramid from the 128x128 images (inputs, masks and targets alike): bilinear with a
    # widened, anti-aliasing kernel (True) or the plain 2x2-tap bilinear kernel (False, aliases at 8x8).
    # The paper says only "bilinear"; see docs/faithfulness.md.
    pyramid_antialias: bool = False
    # Which output of block r is upscaled for block 2r: the composited one (face pixels restored) or raw.
    upscale_source: Literal["composited", "raw"] = "composited"
    # Generator kernel initialiser (the paper states He init for the discriminator only).
    g_kernel_init: str = "glorot_uniform"
    d_kernel_init: str = "he_normal"
    # Convs that feed a pixel shuffle (decoder convs, upscalers): the generator init ("default") or
    # ICNR (Aitken et al. 2017: sub-pixel copies of one kernel, no checkerboard at initialisation).
    ps_init: Literal["default", "icnr"] = "default"
    upscaler_kernel: int = 3
    upscaler_activation: Literal["tanh", "linear"] = "tanh"
    # tanh in [-1, 1] <-> images in [0, 1]: "affine" maps x -> 2x-1 on input and (t+1)/2 on output;
    # "raw" feeds [0, 1] images and uses the tanh output as-is (clipped to [0, 1] only for display).
    output_range: Literal["affine", "raw"] = "affine"
    # End-to-end gradients through the cascade (False) or stop-gradient between blocks (True).
    stop_gradient_between_blocks: bool = False
    # Discriminator (CASIA-Net, Yi et al. 2014, without max-pooling and fully-connected layers).
    # Each removed 2x2 max-pool becomes stride 2 on the conv before it, while the map is larger than
    # d_min_size; "none" keeps full resolution throughout.
    d_downsample: Literal["strided", "none"] = "strided"
    d_min_size: int = 4
    # Per-image probability = mean of the sigmoid patch map ("mean") or the patch map itself ("patch").
    d_output: Literal["mean", "patch"] = "mean"
    # loss.adv_kind="projected" only (not the paper; facehalluc.models.projected): the frozen AlexNet ReLU
    # layers (1..5) the heads look at, the width of the fixed random 1x1 projections and of each head.
    pd_layers: tuple[int, ...] = (1, 2, 5)
    pd_proj_channels: int = 64
    pd_head_channels: int = 64
    # Style noise (the paper's §5 proposed extension, not in the paper's model): this many per-pixel standard
    # normal channels are stacked onto the input of each block in noise_resolutions (cascade inputs
    # noise_{r}); 0 = no noise input, exactly the paper's cascade.  Only a training objective that rewards
    # using the noise (loss.imle_samples) makes the samples differ.
    noise_channels: int = 0
    noise_resolutions: tuple[int, ...] = (8, 16, 32)
    # --init-from a noise-free generator: the new noise-channel weights are zero (0.0: step 0 is the source's
    # function) or normal with this s.d. relative to the RMS of the kernel's existing weights.
    noise_init_std: float = 0.0


@dataclass
class LossConfig:
    """Eq. 1–6 of the paper."""

    pixel: Literal["l1", "l2"] = "l1"
    # Eq. 1 divides by N*H*W; the RGB channels are averaged ("mean") or summed ("sum", = 3x).
    pixel_channel_reduction: Literal["mean", "sum"] = "mean"
    lambda_pc: float = 1.0  # λ1
    lambda_adv: float = 0.1  # λ2
    lambda_id: float = 10.0  # λ3
    lambda_tv: float = 1e-6  # λ4
    use_pc: bool = True
    use_adv: bool = True
    use_id: bool = True
    use_tv: bool = True
    lpips_version: Literal["0.0", "0.1"] = "0.0"
    pc_min_resolution: int = 32  # "L_pc is not applied on block_8 and block_16"
    id_min_resolution: int = 8  # L_id on every block
    id_input_size: int = 224  # VGG-Face input; block outputs are resized bilinearly to this
    # fc7 features for L_id: the output of the Dense layer named "fc7" in the Keras VGG-Face
    # (keras-vggface; pre-ReLU, False) or after its ReLU (True; Caffe's in-place "fc7" blob).
    id_fc7_relu: bool = False
    # Identity network of L_id: the paper's VGG-Face fc7 ("vggface"; weights obtained by hand) or dlib's
    # face-recognition ResNet ("dlib_resnet": 128-D embedding of an approximate dlib face chip cut from the
    # block output; weights shipped by face-recognition-models, converted automatically). See
    # docs/faithfulness.md.  id_input_size and id_fc7_relu apply to "vggface" only.
    id_net: Literal["vggface", "dlib_resnet"] = "vggface"
    real_label: float = 0.9  # one-sided label smoothing on the real mini-batch
    fake_label: float = 0.0
    adv_target: float = 1.0  # c in Eq. 3
    # Eq. 5 sums over pixels; "sum_mean_batch" sums per image and averages over the batch,
    # "sum" also sums over the batch, "mean" averages over pixels too.
    tv_reduction: Literal["sum_mean_batch", "sum", "mean"] = "sum_mean_batch"
    # --- the adversarial term beyond the paper (docs/faithfulness.md, "CPU realism recipe") ---
    # "lsgan": the paper's CASIA-Net discriminator per block with Eq. 3; "projected": a discriminator on
    # frozen AlexNet features with trainable heads (facehalluc.models.projected), hinge loss, logits weighted
    # by the hallucinated (non-face) share of each location.
    adv_kind: Literal["lsgan", "projected"] = "lsgan"
    # Blocks that get a discriminator and the adversarial term; empty = every block (the paper).
    adv_resolutions: tuple[int, ...] = ()
    # DiffAugment policies applied to everything the discriminators see (comma list of color, translation,
    # cutout; empty = none, the paper).
    adv_diffaugment: str = ""
    # The adversarial weight grows linearly from 0 to lambda_adv over this many generator steps (0 = at once).
    adv_ramp_steps: int = 0
    # Feature matching (pix2pixHD): L1 between the projected discriminator's head features of the real and
    # the synthetic image, weighted like the logits; 0 = off (the paper has none).
    lambda_fm: float = 0.0
    # Conditional IMLE (Li & Malik 2019; Li et al. 2020), needs model.noise_channels: per face, draw this many
    # noises, run the generator on all of them without gradients, and train on the draw whose output is
    # closest to the ground truth on the hallucinated (non-face) region, summed over blocks (L1); 0 = one
    # noise draw per face, no selection (and no objective that makes the noise matter).
    imle_samples: int = 0
    # Diversity-sensitive term (Yang et al., ICLR 2019, "DSGAN"; the bounded form of MSGAN's mode-seeking loss),
    # needs model.noise_channels: each step also runs the generator on a second, independent noise draw of the
    # same faces and adds -diversity_weight * mean_faces min(d, diversity_cap), where d is the mean absolute
    # difference of the two outputs over the hallucinated region (averaged over blocks) divided by the mean
    # absolute difference of the two noise draws.  0 = off (one generator pass per step).
    diversity_weight: float = 0.0
    diversity_cap: float = 0.1
    # Its edge (structure) variant: the same ratio computed on the two outputs' horizontal and vertical finite
    # differences (neighbour pairs that both lie in the hallucinated region), so a uniform brightness or colour
    # shift between the samples scores 0 and only different edges and texture count; adds
    # -diversity_edge_weight * mean_faces min(d_edge, diversity_edge_cap).  0 = off.  Both terms share the
    # second generator pass.
    diversity_edge_weight: float = 0.0
    diversity_edge_cap: float = 0.08
    # Both terms' region leaves out a band of context pixels next to the face: those within this Chebyshev
    # distance of the face mask, in pixels of the top block (at block r: round(diversity_band_px * r / top)), so
    # the diversity terms do not reward changing the face's outline (the L1 and perceptual terms still apply
    # there).  0 = the whole hallucinated region.
    diversity_band_px: int = 0


@dataclass
class TrainConfig:
    regime: Literal["cascade", "progan"] = "cascade"
    g_lr: float = 1e-4
    d_lr: float = 2e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    batch_size: int = 10
    epochs: int = 50
    progan_epochs_per_stage: int = 50
    snapshot_epochs: tuple[int, ...] = (10, 20, 30, 40, 50)
    checkpoint_every_steps: int = 500
    seed: int = 0
    mixed_precision: bool = False
    # The low-precision type when mixed_precision is on: float16 (with loss scaling) or bfloat16 (no loss
    # scaling needed; fast on CPUs with AVX512-BF16 / AMX, see docs/performance.md).
    mixed_precision_dtype: Literal["float16", "bfloat16"] = "float16"
    # XLA for the train step: "auto" = on where benchmarks/bench_vs_torch.py measured it faster than graph mode on
    # this CPU kind (facehalluc.utils.fastpath, docs/performance.md); "on" / "off" force it (old true / false).
    xla: Literal["auto", "on", "off"] = "auto"
    # With the step in graph mode: XLA clusters only its element-wise ops (activation gradients, compositing, losses),
    # the convolutions stay TensorFlow's oneDNN kernels.  "auto" = on where measured faster on this CPU kind and
    # width (facehalluc.utils.fastpath, docs/performance.md); train.py sets it before TensorFlow starts.
    xla_elementwise: Literal["auto", "on", "off"] = "auto"
    # With the step XLA-compiled: convolutions of at most 8x8 pixels and 256+ channels in and out (the paper's deep
    # blocks) as one matrix product each, instead of XLA's convolution, which transposes their big filters every step.
    # "auto" = on where measured faster on this CPU kind and width (facehalluc.utils.fastpath, docs/performance.md).
    xla_conv_matmul: Literal["auto", "on", "off"] = "auto"
    strategy: Literal["auto", "default", "mirrored", "multiworker"] = "auto"
    # Discriminator batch norm over several replicas: statistics of the whole global batch, all-reduced
    # ("auto": whenever there is more than one replica; "always": also with one, same formula), or of
    # each replica's share ("never"). See docs/faithfulness.md (the paper trained on one GPU).
    sync_batchnorm: Literal["auto", "always", "never"] = "auto"
    # --strategy multiworker: seconds to wait at start-up for every worker of $TF_CONFIG (0 = forever).
    cluster_join_timeout_s: int = 600
    # ProGAN growth: also initialise disc_2r from disc_r (all CASIA-Net convs have equal shapes at every
    # resolution) instead of a fresh discriminator per stage (the paper only mentions generator layers).
    progan_copy_discriminator: bool = False
    # Validation batches per epoch (0 = every full batch of the val split).
    val_steps: int = 0


@dataclass
class PreprocessConfig:
    output_size: int = 128
    detector_upsample: int = 1
    # True: detect at upsample 0 first and run the detector again at detector_upsample only when
    # that finds no face scoring >= detector_first_pass_min_score (4x less detector time on LFW-sized
    # photos, never fewer faces; the box, and so the crop, can differ slightly, see
    # docs/performance.md); False: one pass at detector_upsample (all boxes, as before).
    detector_upsample_retry: bool = True
    # First (upsample 0) pass only: boxes scoring below this (dlib HOG SVM margin) are ignored; when
    # none is left, the retry pass decides.  Drops weak false positives that would outsize the face.
    detector_first_pass_min_score: float = 0.5
    # Largest image side used for detection; bigger photos are downscaled for detection only.
    max_detect_side: int = 1024
    # Eye-centre targets as fractions of the output side (x_left, x_right, y); the face sits in the
    # middle of the crop with room for forehead, hair, neck and shoulders (see docs/faithfulness.md).
    left_eye_x: float = 0.40
    right_eye_x: float = 0.60
    eye_y: float = 0.40
    # Crop pixels that fall outside the photo: mirrored about the edge (reflect), black, or edge copies.
    border_mode: Literal["reflect", "constant", "replicate"] = "reflect"
    # 68-point dlib shape predictor file; None = shape_predictor_68_face_landmarks.dat shipped by the
    # PyPI package face-recognition-models (located without importing it).
    landmark_model: str | None = None
    # Photos whose shorter side is below this many pixels are rejected as "no face" before detection.
    min_image_side: int = 24


@dataclass
class DataConfig:
    mirror: bool = True
    shuffle_buffer: int = 2048
    val_fraction: float = 0.05
    # Share of the held-out identities (u < val_fraction) that data/prepare.py puts in the *test* split
    # (u < test_share * val_fraction): never used for any choice; val is what choices are made on.
    test_share: float = 0.5
    split_by: Literal["identity", "image"] = "identity"
    cache_in_memory: bool = True


@dataclass
class WeightsConfig:
    # Random initialisation of the frozen loss/metric networks is only allowed when True; the
    # paper preset refuses to run without the converted official weights.
    allow_random: bool = False
    # When a loss network's converted weights are missing (and allow_random is false): "error" stops
    # before training with the command that provides them (the paper preset); "disable" switches that
    # loss term off with one printed line and trains without it (the CPU presets).
    on_missing: Literal["error", "disable"] = "error"
    cache_dir: str | None = None  # default: $FACEHALLUC_WEIGHTS or ~/.cache/facehalluc


@dataclass
class Config:
    name: str = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    data: DataConfig = field(default_factory=DataConfig)
    weights: WeightsConfig = field(default_factory=WeightsConfig)

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml())



class ConfigError(ValueError):
    """A preset name, YAML file or override that cannot be applied."""


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value



def validate(cfg: Config) -> None:
    m = cfg.model
    if tuple(sorted(m.resolutions)) != tuple(m.resolutions) or not m.resolutions:
        raise ConfigError("model.resolutions must be increasing")
    for a, b in zip(m.resolutions, m.resolutions[1:]):
        if b != 2 * a:
            raise ConfigError("model.resolutions must double from block to block")
    if set(m.resolutions) - set(RESOLUTIONS):
        raise ConfigError(f"model.resolutions must be drawn from {RESOLUTIONS}")
    if m.width_divisor < 1 or m.width_divisor & (m.width_divisor - 1):
        # Tables 1-5 use power-of-two widths; any other divisor leaves the 4x4xC bottleneck reshape and
        # the pixel-shuffle convs (channels a multiple of 4) without a whole width (÷6: 2048 -> 341).
        raise ConfigError(f"model.width_divisor must be a power of two (1, 2, 4, ...), got {m.width_divisor}")
    if not 0.0 < m.mask_threshold <= 1.0:
        raise ConfigError("model.mask_threshold must be in (0, 1]")
    lc = cfg.loss
    if set(lc.adv_resolutions) - set(m.resolutions):
        raise ConfigError(f"loss.adv_resolutions {lc.adv_resolutions} must be drawn from model.resolutions "
                          f"{m.resolutions}")
    if lc.adv_kind == "projected" and lc.use_adv and min(adv_resolutions(cfg)) < 32:
        raise ConfigError("loss.adv_kind=projected needs loss.adv_resolutions >= 32 (AlexNet features), e.g. "
                          "loss.adv_resolutions=[64,128]")
    if lc.lambda_fm and lc.adv_kind != "projected":
        raise ConfigError("loss.lambda_fm (feature matching) needs loss.adv_kind=projected")
    if lc.adv_ramp_steps < 0:
        raise ConfigError("loss.adv_ramp_steps must be >= 0")
    try:
        parse_diffaugment(lc.adv_diffaugment)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if m.noise_channels < 0:
        raise ConfigError("model.noise_channels must be >= 0")
    if m.noise_channels and (not m.noise_resolutions or set(m.noise_resolutions) - set(m.resolutions)):
        raise ConfigError(f"model.noise_resolutions {m.noise_resolutions} must be a non-empty subset of "
                          f"model.resolutions {m.resolutions}")
    if m.noise_channels and cfg.train.regime != "cascade":
        raise ConfigError("model.noise_channels needs train.regime=cascade")
    if lc.imle_samples < 0 or lc.imle_samples == 1:
        raise ConfigError("loss.imle_samples must be 0 (off) or >= 2 draws per face")
    if lc.imle_samples and not m.noise_channels:
        raise ConfigError("loss.imle_samples needs a noise input (model.noise_channels > 0)")
    if lc.diversity_weight < 0 or lc.diversity_cap <= 0:
        raise ConfigError("loss.diversity_weight must be >= 0 and loss.diversity_cap > 0")
    if lc.diversity_weight and not m.noise_channels:
        raise ConfigError("loss.diversity_weight needs a noise input (model.noise_channels > 0)")
    if lc.diversity_edge_weight < 0 or lc.diversity_edge_cap <= 0:
        raise ConfigError("loss.diversity_edge_weight must be >= 0 and loss.diversity_edge_cap > 0")
    if lc.diversity_edge_weight and not m.noise_channels:
        raise ConfigError("loss.diversity_edge_weight needs a noise input (model.noise_channels > 0)")
    if lc.diversity_band_px < 0:
        raise ConfigError("loss.diversity_band_px must be >= 0")
    if not 0.0 <= cfg.data.test_share <= 1.0:
        raise ConfigError("data.test_share must be in [0, 1]")
    if cfg.train.batch_size < 1:
        raise ConfigError("train.batch_size must be >= 1")
    if cfg.preprocess.output_size != m.resolutions[-1]:
        raise ConfigError("preprocess.output_size must equal the largest model resolution")



DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")


def parse_diffaugment(text: str) -> tuple[str, ...]:
    """``loss.adv_diffaugment`` -> the policy names (ValueError for an unknown one)."""
    names = tuple(t.strip() for t in str(text).split(",") if t.strip())
    bad = [n for n in names if n not in DIFFAUGMENT_POLICIES]
    if bad:
        raise ValueError(f"loss.adv_diffaugment: unknown policies {bad}; choose from {list(DIFFAUGMENT_POLICIES)}")
    return names


def adv_resolutions(cfg: Config) -> tuple[int, ...]:
    """The blocks with a discriminator (``loss.adv_resolutions``, empty = all); () without the adversarial term."""
    if not cfg.loss.use_adv:
        return ()
    return tuple(sorted(cfg.loss.adv_resolutions)) if cfg.loss.adv_resolutions else tuple(cfg.model.resolutions)

