"""The paper's five generator losses (§3.2, Eq. 1–6) and the LSGAN discriminator loss.

All functions take and return Keras tensors (backend-agnostic ``keras.ops``); images are float32
NHWC RGB in [0, 1].  Every reduction choice the paper leaves open is documented in
``docs/faithfulness.md`` (section *losses*) together with the config field that switches it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import keras
from keras import ops

from ..config import Config

__all__ = [
    "pixel_loss", "tv_loss", "lsgan_generator_loss", "lsgan_discriminator_loss", "identity_loss",
    "lpips_loss", "LossNetworks", "build_loss_networks", "block_generator_losses", "LOSS_KEYS",
    "context_weights", "masked_mean", "hinge_discriminator_loss", "hinge_generator_loss", "feature_matching_loss",
]

log = logging.getLogger(__name__)

#: Keys of the dict returned by :func:`block_generator_losses`.
LOSS_KEYS: tuple[str, ...] = ("pixel", "pc", "adv", "fm", "id", "tv", "total")


def pixel_loss(y_true: Any, y_pred: Any, kind: Literal["l1", "l2"] = "l1",
               channel_reduction: Literal["mean", "sum"] = "mean") -> Any:
    """Eq. 1: mean absolute (``l1``) or squared (``l2``) difference over N, H, W *and* channels.

    Eq. 1 divides by N·H·W and leaves the channel sum implicit; the mean over channels (i.e. a
    further division by 3) is the default reading; ``channel_reduction="sum"`` sums the channels
    (``loss.pixel_channel_reduction``, see faithfulness.md).
    """
    diff = ops.convert_to_tensor(y_true) - ops.convert_to_tensor(y_pred)
    if kind == "l1":
        err = ops.abs(diff)
    elif kind == "l2":
        err = ops.square(diff)
    else:
        raise ValueError(f"pixel_loss: kind must be 'l1' or 'l2', got {kind!r}")
    if channel_reduction == "mean":
        return ops.mean(err)
    if channel_reduction == "sum":
        return ops.mean(ops.sum(err, axis=-1))
    raise ValueError(f"pixel_loss: channel_reduction must be 'mean' or 'sum', got {channel_reduction!r}")


def tv_loss(y: Any, reduction: Literal["sum_mean_batch", "sum", "mean"] = "sum_mean_batch") -> Any:
    """Eq. 5: squared differences between horizontally and vertically adjacent pixels.

    Terms that would reach outside the image are dropped (each difference map is one row/column
    smaller).  ``reduction``: ``"sum_mean_batch"`` sums over pixels and channels per image and
    averages over the batch (Eq. 5 per image); ``"sum"`` also sums over the batch; ``"mean"``
    averages each difference map over all its elements and adds the two means.
    """
    y = ops.convert_to_tensor(y)
    if len(y.shape) != 4:
        raise ValueError(f"tv_loss expects NHWC images, got shape {tuple(y.shape)}")
    dh = ops.square(y[:, 1:, :, :] - y[:, :-1, :, :])
    dw = ops.square(y[:, :, 1:, :] - y[:, :, :-1, :])
    if reduction == "mean":
        return ops.mean(dh) + ops.mean(dw)
    per_image = ops.sum(dh, axis=(1, 2, 3)) + ops.sum(dw, axis=(1, 2, 3))
    if reduction == "sum":
        return ops.sum(per_image)
    if reduction == "sum_mean_batch":
        return ops.mean(per_image)
    raise ValueError(f"tv_loss: reduction must be 'sum_mean_batch', 'sum' or 'mean', got {reduction!r}")


def lsgan_generator_loss(d_fake: Any, target: float = 1.0) -> Any:
    """Eq. 3: ``mean((D(G(I^M)) - c)^2)`` with ``c = target`` (1 in the paper)."""
    d_fake = ops.convert_to_tensor(d_fake)
    return ops.mean(ops.square(d_fake - target))


def lsgan_discriminator_loss(d_real: Any, d_fake: Any, real_label: float = 0.9,
                             fake_label: float = 0.0) -> Any:
    """LSGAN discriminator loss (Mao et al. 2017, Eq. 2 with a = fake_label, b = real_label).

    ``0.5 * mean((D(x) - real_label)^2) + 0.5 * mean((D(G(z)) - fake_label)^2)``.  The 0.5 factors
    are LSGAN's; they average the separate real and fake mini-batches the paper trains D with.
    ``real_label = 0.9`` is one-sided label smoothing on the real mini-batch (the paper names the
    technique, not the value).
    """
    d_real = ops.convert_to_tensor(d_real)
    d_fake = ops.convert_to_tensor(d_fake)
    return 0.5 * ops.mean(ops.square(d_real - real_label)) + 0.5 * ops.mean(ops.square(d_fake - fake_label))


# ----------------------------------------------- the projected discriminator's terms (not the paper's)
def context_weights(mask: Any, size: tuple[int, int]) -> Any:
    """(N, h, w, 1) share of hallucinated (non-face) pixels under each location of an h x w logit map,
    from the (N, r, r, 1) face mask (1 = face): ``1 - mask``, averaged over k x k blocks (k = r // h, the
    whole-number part of the feature stride), then bilinear to h x w (XLA-compilable, unlike an anti-aliased
    resize to a size that does not divide r)."""
    ctx = 1.0 - ops.cast(ops.convert_to_tensor(mask), "float32")
    if len(ctx.shape) == 3:
        ctx = ctx[..., None]
    if tuple(ctx.shape[1:3]) == tuple(size):
        return ctx
    k = max(1, int(ctx.shape[1]) // int(size[0]))
    if k > 1:
        ctx = ops.average_pool(ctx, k, strides=k, padding="valid", data_format="channels_last")
    if tuple(ctx.shape[1:3]) != tuple(size):
        ctx = ops.image.resize(ctx, size, interpolation="bilinear", data_format="channels_last")
    return ops.clip(ctx, 0.0, 1.0)


def masked_mean(x: Any, weights: Any, eps: float = 1e-6) -> Any:
    """``sum(x * w) / (sum(w) * C / C_w + eps)``: the weighted mean of ``x`` (weights broadcast over channels)."""
    x = ops.cast(ops.convert_to_tensor(x), "float32")
    w = ops.cast(ops.convert_to_tensor(weights), "float32")
    ratio = x.shape[-1] // w.shape[-1]
    return ops.sum(x * w) / (ops.sum(w) * ratio + eps)


def hinge_discriminator_loss(real_logits: Any, fake_logits: Any, weights: Any, fake_weights: Any = None) -> Any:
    """``E_w[relu(1 - D(x))] + E_w'[relu(1 + D(G(z)))]``, weighted by the hallucinated share of each location
    (``fake_weights`` w' default to ``weights``: they differ when DiffAugment moved the two views apart)."""
    fake_weights = weights if fake_weights is None else fake_weights
    return (masked_mean(ops.relu(1.0 - real_logits), weights)
            + masked_mean(ops.relu(1.0 + fake_logits), fake_weights))


def hinge_generator_loss(fake_logits: Any, weights: Any) -> Any:
    """``-E_w[D(G(z))]``."""
    return -masked_mean(fake_logits, weights)


def feature_matching_loss(real_feats: Any, fake_feats: Any, weights: Any) -> Any:
    """``E_w |f(x) - f(G(z))|`` over the head features (the real image's features are constants)."""
    return masked_mean(ops.abs(ops.stop_gradient(real_feats) - fake_feats), weights)


def identity_loss(f_true: Any, f_pred: Any) -> Any:
    """Eq. 4: mean over the batch and the #F feature dimensions of the squared fc7 difference."""
    f_true = ops.convert_to_tensor(f_true)
    f_pred = ops.convert_to_tensor(f_pred)
    return ops.mean(ops.square(f_pred - f_true))


def lpips_loss(lpips_model: keras.Model, y_true: Any, y_pred: Any) -> Any:
    """Eq. 2: mean over the batch of LPIPS(G(I^M), I^GT)."""
    return ops.mean(lpips_model([y_pred, y_true]))


# ------------------------------------------------------------------------------- loss networks
@dataclass
class LossNetworks:
    """The frozen feature networks the enabled losses need (``None`` where not needed)."""

    lpips: keras.Model | None = None
    # the L_id feature net: VGG-Face fc7, or dlib's ResNet embedding when loss.id_net == "dlib_resnet"
    vggface: keras.Model | None = None


def _needs_pc(cfg: Config) -> bool:
    return cfg.loss.use_pc and any(r >= cfg.loss.pc_min_resolution for r in cfg.model.resolutions)


def _needs_id(cfg: Config) -> bool:
    return cfg.loss.use_id and any(r >= cfg.loss.id_min_resolution for r in cfg.model.resolutions)


def loss_weight_names(cfg: Config) -> dict[str, str]:
    """Weights-registry names of the frozen networks behind L_pc ("pc") and L_id ("id")."""
    return {"pc": f"lpips_alex_v{cfg.loss.lpips_version}", "id": cfg.loss.id_net}


def loss_weights_available(cfg: Config) -> dict[str, bool]:
    """Whether the converted weights of L_pc's / L_id's networks are in the cache (sha256 checked)."""
    from .. import weights

    out = {}
    for key, name in loss_weight_names(cfg).items():
        try:
            weights.weights_path(name, cfg)
            out[key] = True
        except Exception:  # noqa: BLE001 - missing, unknown or corrupt: not available
            # dlib's ResNet is converted into the cache on first use from the installed .dat
            out[key] = name == "dlib_resnet" and _dlib_dat_installed()
    return out


def _dlib_dat_installed() -> bool:
    from ..nets.dlib_resnet import installed_dat_path

    return installed_dat_path() is not None


def disable_missing_loss_terms(cfg: Config) -> tuple[Config, list[str]]:
    """``weights.on_missing == "disable"``: a copy of ``cfg`` with L_pc / L_id off where their
    networks' converted weights are missing, and one message per switched-off term.

    Unchanged (no messages) when ``weights.allow_random`` is set (random nets were asked for), when
    ``on_missing == "error"`` (then :func:`build_loss_networks` raises), or when nothing is missing.
    """
    import dataclasses

    if cfg.weights.allow_random or cfg.weights.on_missing != "disable":
        return cfg, []
    need = {"pc": _needs_pc(cfg), "id": _needs_id(cfg)}
    if not any(need.values()):
        return cfg, []
    avail = loss_weights_available(cfg)
    names = loss_weight_names(cfg)
    loss = dataclasses.replace(cfg.loss)
    messages = []
    for key, flag in (("pc", "use_pc"), ("id", "use_id")):
        if need[key] and not avail[key]:
            setattr(loss, flag, False)
            messages.append(f"L_{key} switched off: converted '{names[key]}' weights not found in the weights "
                            f"cache (python -m facehalluc.weights convert {names[key]} ...; see docs/weights.md); "
                            f"weights.allow_random=true would train against a RANDOM network instead")
    return dataclasses.replace(cfg, loss=loss), messages


def build_loss_networks(cfg: Config) -> LossNetworks:
    """Builds the frozen LPIPS / VGG-Face models that the enabled losses of ``cfg`` need.

    Converted weights are read from the weights cache (:func:`facehalluc.weights.cache_dir`).
    When they are missing, :class:`facehalluc.weights.MissingWeightsError` is raised (its message
    holds the command that provides them) unless ``cfg.weights.allow_random`` is True, in which
    case the network keeps its random initialisation and a loud warning is logged.
    """
    from ..nets import lpips_from_config, vggface_from_config

    nets = LossNetworks()
    if _needs_pc(cfg):
        nets.lpips = lpips_from_config(cfg)
    if _needs_id(cfg):
        if cfg.loss.id_net == "dlib_resnet":
            from ..nets.dlib_resnet import dlib_resnet_from_config

            nets.vggface = dlib_resnet_from_config(cfg)
        else:
            nets.vggface = vggface_from_config(cfg)
    return nets


def block_generator_losses(y_true: Any, y_pred: Any, d_fake: Any, resolution: int, cfg: Config,
                           nets: LossNetworks, *, adv: Any = None, fm: Any = None, adv_scale: Any = 1.0
                           ) -> dict[str, Any]:
    """Eq. 6 for one block: ``{pixel, pc, adv, fm, id, tv, total}``.

    ``adv`` / ``fm``: an adversarial / feature-matching value computed by the caller (the projected
    discriminator's hinge and FM terms) instead of Eq. 3 from ``d_fake``; ``adv_scale`` multiplies
    ``lambda_adv`` (the warm-up ramp of ``loss.adv_ramp_steps``; 1 = the paper).

    ``y_pred`` is the block output with the face pixels already restored (the paper replaces them
    "before loss computation").  Disabled or not-applicable terms are 0.0: ``pc`` below
    ``cfg.loss.pc_min_resolution`` (the paper skips block_8 and block_16), ``id`` below
    ``cfg.loss.id_min_resolution``, ``adv`` when ``d_fake`` is None.
    """
    lc = cfg.loss
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    zero = ops.zeros((), dtype=y_pred.dtype)
    out: dict[str, Any] = {"pixel": pixel_loss(y_true, y_pred, lc.pixel, lc.pixel_channel_reduction)}

    if lc.use_pc and resolution >= lc.pc_min_resolution:
        if nets.lpips is None:
            raise ValueError(f"block {resolution}: L_pc is enabled but LossNetworks.lpips is None; "
                             f"build the networks with build_loss_networks(cfg)")
        out["pc"] = lpips_loss(nets.lpips, y_true, y_pred)
    else:
        out["pc"] = zero

    if adv is not None:
        out["adv"] = adv
    elif lc.use_adv and d_fake is not None:
        out["adv"] = lsgan_generator_loss(d_fake, lc.adv_target)
    else:
        out["adv"] = zero
    out["fm"] = fm if fm is not None else zero

    if lc.use_id and resolution >= lc.id_min_resolution:
        if nets.vggface is None:
            raise ValueError(f"block {resolution}: L_id is enabled but LossNetworks.vggface is None; "
                             f"build the networks with build_loss_networks(cfg)")
        n = ops.shape(y_true)[0]
        feats = nets.vggface(ops.concatenate([y_true, ops.cast(y_pred, y_true.dtype)], axis=0))
        out["id"] = identity_loss(ops.stop_gradient(feats[:n]), feats[n:])
    else:
        out["id"] = zero

    out["tv"] = tv_loss(y_pred, lc.tv_reduction) if lc.use_tv else zero

    out["total"] = (out["pixel"] + lc.lambda_pc * out["pc"] + lc.lambda_adv * adv_scale * out["adv"]
                    + lc.lambda_fm * out["fm"] + lc.lambda_id * out["id"] + lc.lambda_tv * out["tv"])
    return out
