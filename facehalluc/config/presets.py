"""Named presets: plain functions that build a :class:`~facehalluc.config.schema.Config`, registered in
:data:`PRESETS` (``load_config("tiny")``)."""
from __future__ import annotations

from typing import Callable

from .schema import Config

def paper() -> Config:
    """Every hyper-parameter the paper states (§3.1, §3.2, §4 Training Details, suppl. Tables 1–5)."""
    return Config(name="paper")


def progan() -> Config:
    """Progressively grown variant (§3.1 "ProGAN", §4.3): 50 epochs per stage, block_128 at test time."""
    cfg = paper()
    cfg.name = "progan"
    cfg.train.regime = "progan"
    return cfg


def ablation_l2() -> Config:
    """Suppl. Table 6: l2 instead of l1 for L_pixel, other weights unchanged."""
    cfg = paper()
    cfg.name = "ablation_l2"
    cfg.loss.pixel = "l2"
    return cfg


def ablation_no_adv() -> Config:
    cfg = paper()
    cfg.name = "ablation_no_adv"
    cfg.loss.use_adv = False
    return cfg


def ablation_no_id() -> Config:
    cfg = paper()
    cfg.name = "ablation_no_id"
    cfg.loss.use_id = False
    return cfg


def ablation_no_pc() -> Config:
    cfg = paper()
    cfg.name = "ablation_no_pc"
    cfg.loss.use_pc = False
    return cfg


def tiny() -> Config:
    """Same topology as ``paper`` with channel widths divided by 16, for CPU tests and demos.

    Loss terms whose frozen networks have no converted weights are switched off (``weights.on_missing``);
    random frozen networks only with an explicit ``weights.allow_random=true`` (smoke tests).
    """
    cfg = paper()
    cfg.name = "tiny"
    cfg.model.width_divisor = 16
    cfg.train.batch_size = 8
    cfg.train.epochs = 5
    cfg.train.g_lr = 5e-4
    cfg.train.d_lr = 5e-4
    cfg.train.checkpoint_every_steps = 50
    cfg.train.snapshot_epochs = ()
    cfg.train.xla = "off"  # tests and demos: no XLA compile time
    cfg.train.xla_elementwise = "off"
    cfg.train.xla_conv_matmul = "off"
    cfg.loss.id_input_size = 64
    # Missing LPIPS / VGG-Face weights switch L_pc / L_id off (one printed line); random frozen nets
    # only when asked for explicitly (weights.allow_random=true, tests and smoke runs).
    cfg.weights.on_missing = "disable"
    return cfg


def cpu() -> Config:
    """The paper's topology at a width a 2-core CPU trains in hours: channel widths divided by 4.

    Differs from ``paper`` (every difference is listed in docs/results.md with its evidence):
    widths ÷ 4 (24.6 M generator parameters instead of 392.8 M), batch 8, Adam lr 2e-4 for both sides,
    anti-aliased pyramid, ICNR-initialised pixel-shuffle convs, no adversarial term, λ_tv 1e-4, missing loss-net
    weights switch their term off (``weights.on_missing``).  The evidence: the study in docs/results.md.
    """
    cfg = paper()
    cfg.name = "cpu"
    cfg.model.width_divisor = 4
    cfg.model.pyramid_antialias = True
    cfg.model.ps_init = "icnr"
    cfg.train.batch_size = 8
    cfg.train.g_lr = 2e-4
    cfg.train.d_lr = 2e-4
    cfg.train.checkpoint_every_steps = 250
    cfg.train.snapshot_epochs = ()
    cfg.train.val_steps = 24
    # No adversarial term at this scale (docs/results.md: λ_adv 0.01 changed nothing, 0.1 made every
    # held-out measure worse and added checkerboard power); the discriminators are then not built.
    cfg.loss.use_adv = False
    cfg.loss.lambda_adv = 0.0
    # Squared-TV weight 100x the paper's λ4: removes the pixel-shuffle checkerboard that L_pc teaches
    # (docs/results.md: background HF excess +12.3 dB -> -0.65 dB, LPIPS/FD unchanged or better).
    cfg.loss.lambda_tv = 1e-4
    cfg.weights.on_missing = "disable"
    return cfg


def shipped() -> Config:
    """The preset of the generator shipped in the package (docs/model_card.md): ``cpu`` at widths ÷ 8.

    Everything as ``cpu`` (the study's best settings) except the channel widths, divided by 8 instead of 4
    (6.16 M generator parameters: a 11.4 MB compressed float16 npz) so that the weights fit the package's size budget and
    a 2-core CPU sees ~1.6x more images per hour (27 vs 17 images/s, benchmarks/bench_train_step.py).
    """
    cfg = cpu()
    cfg.name = "shipped"
    cfg.model.width_divisor = 8
    cfg.train.checkpoint_every_steps = 500
    return cfg


def realism() -> Config:
    """The CPU realism recipe (issue 19; docs/results.md, *The adversarial stage at CPU scale*): ``shipped``'s
    generator fine-tuned, from the shipped weights (``train.py --init-from default``), against a projected
    discriminator on frozen AlexNet features (not the paper's CASIA-Net: docs/faithfulness.md).

    Differs from ``shipped``: adversarial term on, ``loss.adv_kind=projected`` on blocks 64 and 128 only, hinge
    loss with logits weighted by the hallucinated share of each location, λ_adv 0.1 ramped up over 500 steps,
    feature matching λ_fm 0.1, the paper's learning rates (G 1e-4, D 2e-4).
    """
    cfg = shipped()
    cfg.name = "realism"
    cfg.loss.use_adv = True
    cfg.loss.adv_kind = "projected"
    cfg.loss.adv_resolutions = (64, 128)
    cfg.loss.lambda_adv = 0.1
    cfg.loss.adv_ramp_steps = 500
    cfg.loss.lambda_fm = 0.1
    cfg.train.g_lr = 1e-4
    cfg.train.d_lr = 2e-4
    cfg.train.checkpoint_every_steps = 250
    return cfg


def sampling() -> Config:
    """Several hallucinations per face (issue 23; docs/results.md, *Several hallucinations per face*): the
    ``realism`` recipe with style noise and conditional IMLE, warm-started from the shipped weights
    (``train.py --init-from default``; the noise weights start at zero, so step 0 is the shipped model).

    Differs from ``realism``: 4 standard normal noise channels on the inputs of blocks 8, 16 and 32 (the blocks
    that lay out hair, clothes and background), and conditional IMLE with 6 draws per face.
    """
    cfg = realism()
    cfg.name = "sampling"
    cfg.model.noise_channels = 4
    cfg.model.noise_resolutions = (8, 16, 32)
    cfg.loss.imle_samples = 6
    return cfg


PRESETS: dict[str, Callable[[], Config]] = {
    f.__name__: f
    for f in (paper, progan, ablation_l2, ablation_no_adv, ablation_no_id, ablation_no_pc, tiny, cpu, shipped,
              realism, sampling)
}

