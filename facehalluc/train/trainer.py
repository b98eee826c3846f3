"""One ``keras.Model`` that trains every (generator block, discriminator) LSGAN pair at once.

:class:`GANTrainer` follows the keras-io DCGAN pattern: ``compile(g_optimizer, d_optimizer)`` and a
custom TensorFlow ``train_step``.  Per batch (see ``docs/faithfulness.md``, section *training*):

1. **Generator forward** of the whole cascade (or of the current ProGAN stage) under a gradient tape.
   Its outputs ``out_r`` are already composited (face-mask pixels restored from the input).
2. **Discriminator update** for every block r, from the outputs of step 1 with the gradient stopped:
   ``D_r`` is called on the real mini-batch ``full_r`` and, separately, on the synthetic mini-batch
   ``out_r`` (so batch normalisation never mixes real and fake images), loss
   ``lsgan_discriminator_loss(d_real, d_fake, real_label=0.9, fake_label=0)`` (one-sided label
   smoothing).  One Adam over all discriminators, on the sum of the per-block losses (Adam is
   per-variable and the blocks share no variables, so this equals one Adam per discriminator).
3. **Generator update** on ``sum_r block_generator_losses(full_r, out_r, D_r(out_r), r)["total"]``
   (Eq. 6 per block), where ``D_r`` is the just-updated discriminator.  The generator forward of
   step 1 is reused: the generator has not changed in between, so this is the same gradient as a
   second forward pass, at half the cost.

Beyond the paper (``loss.adv_kind``, ``loss.adv_resolutions``, ``loss.adv_diffaugment``, ``loss.adv_ramp_steps``,
``loss.lambda_fm``; defaults = the paper): discriminators on a subset of blocks only, DiffAugment on everything
they see, a linear warm-up of λ_adv, and the projected discriminator of :mod:`facehalluc.models.projected` with
hinge losses weighted by the hallucinated share of each location and feature matching.

Every loss term of every block is a ``keras.metrics.Mean`` tracker named ``b{r}_{term}``
(``pixel, pc, adv, fm, id, tv, total, d``) plus ``g_total`` and ``d_total``; ``fit()`` shows them in its
progress bar, History and TensorBoard, and ``test_step`` gives the same names with a ``val_``
prefix.  Losses are divided by the number of replicas before differentiation because gradients are
summed across replicas by the optimizer under ``tf.distribute``.
"""
from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf
from keras import layers

from ..config import Config, adv_resolutions, parse_diffaugment
from ..losses import (LOSS_KEYS, LossNetworks, block_generator_losses, context_weights, feature_matching_loss,
                      hinge_discriminator_loss, hinge_generator_loss, lsgan_discriminator_loss)
from ..models import FaceComposite, build_discriminator, build_generator_block, noise_shapes
from ..models.diffaugment import diff_augment
from ..utils.fastpath import native_dilated_conv, small_convs_as_matmul
from .distribute import in_multi_worker

TERMS: tuple[str, ...] = tuple(LOSS_KEYS) + ("d",)


def _region_mean(values, region):
    """Per face: the mean of ``values`` (N, h, w, 1) over the pixels where ``region`` (N, h, w, 1) is 1."""
    return tf.reduce_sum(values * region, axis=[1, 2, 3]) / tf.maximum(tf.reduce_sum(region, axis=[1, 2, 3]), 1.0)


def metric_names(resolutions: tuple[int, ...], diversity: bool = False, diversity_edge: bool = False) -> list[str]:
    """Names of the trackers, in display order: per block terms, then ``g_total`` and ``d_total`` (and
    ``diversity``, the diversity-sensitive term's unclipped ratio d, when ``loss.diversity_weight`` is on;
    ``diversity_edge``, its edge variant's, when ``loss.diversity_edge_weight`` is on)."""
    return [f"b{r}_{t}" for r in resolutions for t in TERMS] + ["g_total", "d_total"] + (
        ["diversity"] if diversity else []) + (["diversity_edge"] if diversity_edge else [])


def build_stage_generator(block: keras.Model, resolution: int, cfg: Config,
                          name: str | None = None) -> keras.Model:
    """A single block as a cascade-like model: inputs ``masked_r``/``mask_r``, output ``out_r`` (composited).

    Used for the ProGAN regime, where each stage trains one block on its own resolution.
    """
    masked = keras.Input((resolution, resolution, 3), name=f"masked_{resolution}")
    mask = keras.Input((resolution, resolution, 1), name=f"mask_{resolution}")
    x = masked
    if cfg.model.mask_injection == "concat":
        x = layers.Concatenate(name=f"inject_mask_{resolution}")([masked, masked])
    raw = block(x)
    out = FaceComposite(cfg.model.mask_threshold, name="face_composite")([mask, masked, raw])
    out = layers.Identity(name=f"out_{resolution}")(out)
    return keras.Model({f"masked_{resolution}": masked, f"mask_{resolution}": mask},
                       {f"out_{resolution}": out}, name=name or f"stage_{resolution}")


def build_stage_block(resolution: int, cfg: Config) -> keras.Model:
    return build_generator_block(resolution, cfg)


def _float32(outs: dict) -> dict:
    """Block outputs in float32 for the losses (under mixed_float16 the compositing layer computes in float16)."""
    return {k: tf.cast(v, tf.float32) for k, v in outs.items()}


def _num_replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


class GANTrainer(keras.Model):
    """Trains ``generator`` (dict in -> dict ``out_r``) against one discriminator per resolution.

    Args:
        generator: functional model whose inputs are a dict (``masked_r``, ``mask_r``) and whose
            outputs are a dict ``out_r`` for every trained resolution (the cascade, or a ProGAN stage).
        discriminators: one per trained resolution, or an empty dict when ``cfg.loss.use_adv`` is off.
        cfg: the run's config (loss weights and labels).
        nets: the frozen loss networks from :func:`facehalluc.losses.build_loss_networks`.
    """

    def __init__(self, generator: keras.Model, discriminators: dict[int, keras.Model], cfg: Config,
                 nets: LossNetworks, **kwargs: Any):
        super().__init__(**kwargs)
        self.generator = generator
        outs = generator.output
        if not isinstance(outs, dict):
            raise ValueError(f"generator {generator.name!r} must return a dict of out_r tensors")
        self.resolutions: tuple[int, ...] = tuple(sorted(int(k.split("_")[1]) for k in outs))
        #: the blocks with a discriminator (loss.adv_resolutions within this stage; all of them in the paper)
        self.adv_res: tuple[int, ...] = tuple(r for r in adv_resolutions(cfg) if r in self.resolutions)
        if cfg.loss.use_adv and sorted(discriminators) != list(self.adv_res):
            raise ValueError(f"need one discriminator per adversarial resolution {self.adv_res}, "
                             f"got {sorted(discriminators)}")
        self.disc_list = [discriminators[r] for r in self.adv_res] if cfg.loss.use_adv else []
        self.augment_policy = parse_diffaugment(cfg.loss.adv_diffaugment) if self.disc_list else ()
        self.augment_seed = keras.random.SeedGenerator(cfg.train.seed, name="diffaugment_seed") \
            if self.augment_policy else None
        self.cfg = cfg
        self.nets = nets
        self.conv_matmul = False  # set by compile()
        inputs = generator.input
        if not isinstance(inputs, dict) or not inputs:
            raise ValueError(f"generator {generator.name!r} must take a dict of inputs")
        #: style-noise inputs the trainer draws itself (model.noise_channels); the rest comes from the batch
        self.noise_shapes = {k: v for k, v in noise_shapes(cfg).items() if k in inputs}
        self.input_keys: tuple[str, ...] = tuple(k for k in inputs if k not in self.noise_shapes)
        self.imle_samples = int(cfg.loss.imle_samples) if self.noise_shapes else 0
        self.noise_seed = keras.random.SeedGenerator(cfg.train.seed + 7919, name="noise_seed") \
            if self.noise_shapes else None
        self.diversity_weight = float(cfg.loss.diversity_weight) if self.noise_shapes else 0.0
        self.diversity_edge_weight = float(cfg.loss.diversity_edge_weight) if self.noise_shapes else 0.0
        self.trackers = {n: keras.metrics.Mean(name=n)
                         for n in metric_names(self.resolutions, diversity=bool(self.diversity_weight),
                                               diversity_edge=bool(self.diversity_edge_weight))}
        self.built = True

    # ----------------------------------------------------------------------------- keras API
    def call(self, inputs, training: bool = False):
        return self.generator(self.generator_inputs(inputs), training=training)

    # --------------------------------------------------------------------------- style noise
    def draw_noise(self, batch, seed=None) -> dict[str, Any]:
        """Standard normal ``noise_r`` tensors for ``batch`` faces (the trainer's seed stream, or ``seed``)."""
        seed = self.noise_seed if seed is None else seed
        return {k: keras.random.normal((batch, *shape), seed=seed) for k, shape in self.noise_shapes.items()}

    def generator_inputs(self, data: dict, seed=None) -> dict[str, Any]:
        """The generator's input dict from a batch: its own tensors, plus one noise draw per face."""
        inputs = {k: tf.convert_to_tensor(data[k]) for k in self.input_keys}
        if self.noise_shapes:
            inputs.update(self.draw_noise(tf.shape(inputs[self.input_keys[0]])[0], seed))
        return inputs

    def imle_inputs(self, data: dict) -> dict[str, Any]:
        """Conditional IMLE: ``loss.imle_samples`` noises per face, generated without gradients; the draw whose
        output is closest to the ground truth (L1 on the hallucinated region, summed over blocks) is kept."""
        k = self.imle_samples
        inputs = {key: data[key] for key in self.input_keys}
        n = tf.shape(inputs[self.input_keys[0]])[0]
        # draw-major: row i*n + j = face j, draw i (every cascade input is NHWC)
        tiled = {key: tf.tile(v, [k, 1, 1, 1]) for key, v in inputs.items()}
        noise = self.draw_noise(k * n)
        outs = _float32(self.generator({**tiled, **noise}, training=False))
        dist = 0.0
        for r in self.resolutions:
            context = 1.0 - tf.cast(tf.tile(data[f"mask_{r}"], [k, 1, 1, 1]), tf.float32)
            err = tf.abs(outs[f"out_{r}"] - tf.tile(tf.cast(data[f"full_{r}"], tf.float32), [k, 1, 1, 1]))
            dist += tf.reduce_mean(err * context, axis=[1, 2, 3])
        best = tf.argmin(tf.reshape(dist, [k, n]), axis=0, output_type=tf.int32)  # (n,)
        rows = best * n + tf.range(n)
        inputs.update({key: tf.stop_gradient(tf.gather(z, rows)) for key, z in noise.items()})
        return inputs

    def diversity_context(self, data: dict, r: int):
        """(N, r, r, 1) the region the diversity terms see at block ``r``: the hallucinated pixels (1 - mask), less
        those within Chebyshev distance ``round(loss.diversity_band_px * r / top block)`` of the face."""
        mask = tf.cast(data[f"mask_{r}"], tf.float32)
        band = int(math.floor(self.cfg.loss.diversity_band_px * r / max(self.resolutions) + 0.5))
        if band:
            mask = keras.ops.max_pool(mask, pool_size=2 * band + 1, strides=1, padding="same")
        return 1.0 - mask

    def diversity_ratio(self, data: dict, outs: dict, outs_b: dict, noise: dict, noise_b: dict):
        """Per face: mean |out - out_b| over the hallucinated region (averaged over blocks) divided by the mean
        |noise - noise_b| over every noise input (Yang et al. 2019, Eq. 2; Mao et al. 2019); the region is
        :meth:`diversity_context`."""
        ratio = 0.0
        for r in self.resolutions:
            context = self.diversity_context(data, r)
            diff = tf.reduce_mean(tf.abs(outs[f"out_{r}"] - outs_b[f"out_{r}"]), axis=-1, keepdims=True)
            ratio += _region_mean(diff, context)
        return ratio / len(self.resolutions) / self._noise_distance(noise, noise_b)

    def edge_diversity_ratio(self, data: dict, outs: dict, outs_b: dict, noise: dict, noise_b: dict):
        """:meth:`diversity_ratio` on edges: per block, the channel-mean |Δout - Δout_b| of horizontal and vertical
        neighbour differences Δ, averaged over the pairs whose two pixels are both hallucinated (the mean of the
        two directions), then averaged over blocks and divided by the mean |noise - noise_b|.  A uniform shift
        (out_b = out + c) gives 0.  Pairs over :meth:`diversity_context`."""
        ratio = 0.0
        for r in self.resolutions:
            context = self.diversity_context(data, r)
            delta = outs[f"out_{r}"] - outs_b[f"out_{r}"]
            vertical = tf.reduce_mean(tf.abs(delta[:, 1:] - delta[:, :-1]), axis=-1, keepdims=True)
            horizontal = tf.reduce_mean(tf.abs(delta[:, :, 1:] - delta[:, :, :-1]), axis=-1, keepdims=True)
            ratio += 0.5 * (_region_mean(vertical, context[:, 1:] * context[:, :-1])
                            + _region_mean(horizontal, context[:, :, 1:] * context[:, :, :-1]))
        return ratio / len(self.resolutions) / self._noise_distance(noise, noise_b)

    def _noise_distance(self, noise: dict, noise_b: dict):
        """Per face, the mean |noise - noise_b| over every noise input (+ 1e-5)."""
        dz = tf.add_n([tf.reduce_sum(tf.abs(tf.cast(noise[k], tf.float32) - tf.cast(noise_b[k], tf.float32)),
                                     axis=[1, 2, 3]) for k in sorted(noise)])
        size = float(sum(int(h * w * c) for h, w, c in (self.noise_shapes[k] for k in noise)))
        return dz / size + 1e-5

    def compile(self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer,
                jit_compile: bool | str = False, conv_matmul: bool = False,
                **kwargs: Any) -> None:  # type: ignore[override]
        """``conv_matmul``: with ``jit_compile``, the steps compute their small, wide convolutions as matrix
        products (``fastpath.small_convs_as_matmul``; ``train.xla_conv_matmul``)."""
        super().compile(jit_compile=jit_compile, **kwargs)
        self.conv_matmul = bool(conv_matmul and jit_compile)
        # keras.Model.compile installs a default RMSprop as ``self.optimizer``, which fit() would build
        # with a slot per trainable variable (generator + discriminators: 1.6 GB at paper width) although
        # only g_optimizer / d_optimizer are used.  Building it over no variables keeps it empty.
        if not self.optimizer.built:
            self.optimizer.build([])
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Slots are created now, in the caller's strategy scope (creating them lazily inside the
        # distributed train function fails under MirroredStrategy) and before any checkpoint restore.
        self.build_optimizers()

    def build_optimizers(self) -> None:
        """Creates the optimizer slots now (needed before restoring a checkpoint into them)."""
        if not self.g_optimizer.built:
            self.g_optimizer.build(self.generator.trainable_variables)
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.d_trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skips Keras' peek at the first distributed batch: everything here is built explicitly.

        Under a ``tf.distribute`` strategy Keras 3.15's ``fit``/``evaluate`` take one batch from the
        distributed iterator and call ``strategy.reduce("MEAN", batch)`` on it to build the model
        symbolically; ``MultiWorkerMirroredStrategy`` cannot reduce a dict batch ("Attempt to convert a
        value ({'masked_8': PerReplica...}) ... to a Tensor").  The generator and discriminators are
        functional models (built), the trackers need no build and both optimizers are built in
        :meth:`compile`, so only Keras' own bookkeeping (``_symbolic_build`` without data) remains.
        """
        if self._distribute_strategy is None or not all(layer.built for layer in self._flatten_layers()):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=None)

    @property
    def metrics(self):
        return list(self.trackers.values())

    @property
    def discriminators(self) -> dict[int, keras.Model]:
        return dict(zip(self.adv_res, self.disc_list))

    @property
    def d_trainable_variables(self) -> list:
        return [v for d in self.disc_list for v in d.trainable_variables]

    @property
    def d_variables(self) -> list:
        return [v for d in self.disc_list for v in d.variables]

    # ------------------------------------------------------------------------------- losses
    def _d_view(self, images, data: dict, r: int):
        """What D_r sees of ``images``: DiffAugment'ed (``loss.adv_diffaugment``), with the hallucinated-share
        weights moved along for the projected discriminator."""
        weights = 1.0 - tf.cast(data[f"mask_{r}"], tf.float32) if self.cfg.loss.adv_kind == "projected" else None
        if self.augment_policy:
            images, weights = diff_augment(images, self.augment_policy, self.augment_seed, weights)
        return images, weights

    def _projected(self, disc: keras.Model, images, weights, training: bool):
        """(logit maps, head features, location weights) per AlexNet layer of a projected discriminator."""
        out = disc(images, training=training)
        keys = sorted(k[5:] for k in out if k.startswith("logit"))
        w = {k: context_weights(weights, tuple(out[f"logit{k}"].shape[1:3])) for k in keys}
        return {k: out[f"logit{k}"] for k in keys}, {k: out[f"feat{k}"] for k in keys}, w

    def _d_losses(self, data: dict, outs: dict, training: bool) -> dict[int, Any]:
        lc = self.cfg.loss
        losses = {}
        for r, disc in zip(self.adv_res, self.disc_list):
            real, w_real = self._d_view(data[f"full_{r}"], data, r)
            fake, w_fake = self._d_view(tf.stop_gradient(outs[f"out_{r}"]), data, r)
            if lc.adv_kind == "projected":
                lr, _, wr = self._projected(disc, real, w_real, training)
                lf, _, wf = self._projected(disc, fake, w_fake, training)
                losses[r] = tf.add_n([hinge_discriminator_loss(lr[k], lf[k], wr[k], wf[k]) for k in lr]) / len(lr)
            else:
                losses[r] = lsgan_discriminator_loss(disc(real, training=training), disc(fake, training=training),
                                                     lc.real_label, lc.fake_label)
        return losses

    def _adv_scale(self):
        ramp = self.cfg.loss.adv_ramp_steps
        if ramp <= 0:
            return 1.0
        return tf.minimum(1.0, tf.cast(self.g_optimizer.iterations, tf.float32) / float(ramp))

    def _g_losses(self, data: dict, outs: dict, d_training: bool) -> dict[int, dict[str, Any]]:
        losses = {}
        discs = self.discriminators
        projected = self.cfg.loss.adv_kind == "projected"
        scale = self._adv_scale()
        for r in self.resolutions:
            y_pred = outs[f"out_{r}"]
            extra: dict[str, Any] = {}
            d_fake = None
            if r in discs:
                fake, w_fake = self._d_view(y_pred, data, r)
                if projected:
                    lf, ff, wf = self._projected(discs[r], fake, w_fake, d_training)
                    extra["adv"] = tf.add_n([hinge_generator_loss(lf[k], wf[k]) for k in lf]) / len(lf)
                    if self.cfg.loss.lambda_fm:  # on the un-augmented pair: the same view of real and fake
                        w = 1.0 - tf.cast(data[f"mask_{r}"], tf.float32)
                        if self.augment_policy:
                            _, ff, wf = self._projected(discs[r], y_pred, w, d_training)
                        _, fr, _ = self._projected(discs[r], data[f"full_{r}"], w, d_training)
                        extra["fm"] = tf.add_n([feature_matching_loss(fr[k], ff[k], wf[k]) for k in ff]) / len(ff)
                else:
                    d_fake = discs[r](fake, training=d_training)
            losses[r] = block_generator_losses(data[f"full_{r}"], y_pred, d_fake, r, self.cfg, self.nets,
                                               adv_scale=scale, **extra)
        return losses

    def _record(self, g_losses: dict[int, dict[str, Any]], d_losses: dict[int, Any]) -> dict[str, Any]:
        zero = tf.constant(0.0, tf.float32)
        g_total = tf.add_n([tf.cast(g_losses[r]["total"], tf.float32) for r in self.resolutions])
        d_total = tf.add_n([tf.cast(d_losses[r], tf.float32) for r in d_losses]) if d_losses else zero
        for r in self.resolutions:
            for k in LOSS_KEYS:
                self.trackers[f"b{r}_{k}"].update_state(tf.cast(g_losses[r][k], tf.float32))
            self.trackers[f"b{r}_d"].update_state(tf.cast(d_losses[r], tf.float32) if r in d_losses else zero)
        self.trackers["g_total"].update_state(g_total)
        self.trackers["d_total"].update_state(d_total)
        if in_multi_worker(self.distribute_strategy):
            # Keras 3.15 reduces step outputs across workers with strategy.reduce("MEAN", v, axis=0),
            # which fails on scalars; as 1-element vectors they reduce to the scalar mean over replicas.
            return {m.name: tf.reshape(m.result(), [1]) for m in self.metrics}
        return {m.name: m.result() for m in self.metrics}

    # ---------------------------------------------------------------------------- train step
    def train_step(self, data):
        # entered while fit() traces the step: its dilated convolutions become single oneDNN ops, and under XLA
        # (train.xla_conv_matmul) its small, wide convolutions matrix products (fastpath)
        with native_dilated_conv(), small_convs_as_matmul(self.conv_matmul):
            return self._train_step(data)

    def test_step(self, data):
        with native_dilated_conv(), small_convs_as_matmul(self.conv_matmul):
            return self._test_step(data)

    def _train_step(self, data):
        inputs = self.imle_inputs(data) if self.imle_samples else self.generator_inputs(data)
        replicas = _num_replicas()
        g_vars = self.generator.trainable_variables
        diversity = edge_diversity = None
        with tf.GradientTape() as g_tape:
            if self.diversity_weight or self.diversity_edge_weight:
                # one pass over [faces with noise z ; the same faces with a fresh z_b]
                n = tf.shape(inputs[self.input_keys[0]])[0]
                noise_b = self.draw_noise(n)
                both = {k: tf.concat([inputs[k], noise_b[k] if k in noise_b else inputs[k]], axis=0)
                        for k in inputs}
                outs2 = _float32(self.generator(both, training=True))
                outs = {k: v[:n] for k, v in outs2.items()}
                outs_b = {k: v[n:] for k, v in outs2.items()}
                z = {k: inputs[k] for k in noise_b}
                if self.diversity_weight:
                    diversity = self.diversity_ratio(data, outs, outs_b, z, noise_b)
                if self.diversity_edge_weight:
                    edge_diversity = self.edge_diversity_ratio(data, outs, outs_b, z, noise_b)
            else:
                outs = _float32(self.generator(inputs, training=True))
            d_losses: dict[int, Any] = {}
            if self.disc_list:
                with g_tape.stop_recording():
                    d_vars = self.d_trainable_variables
                    with tf.GradientTape() as d_tape:
                        d_losses = self._d_losses(data, outs, training=True)
                        d_total = tf.add_n(list(d_losses.values()))
                        d_scaled = self.d_optimizer.scale_loss(d_total / replicas)
                    d_grads = d_tape.gradient(d_scaled, d_vars)
                    self.d_optimizer.apply(d_grads, d_vars)
            g_losses = self._g_losses(data, outs, d_training=True)
            g_total = tf.add_n([g_losses[r]["total"] for r in self.resolutions])
            if diversity is not None:
                cap = float(self.cfg.loss.diversity_cap)
                g_total -= self.diversity_weight * tf.reduce_mean(tf.minimum(diversity, cap))
                self.trackers["diversity"].update_state(tf.reduce_mean(diversity))
            if edge_diversity is not None:
                cap = float(self.cfg.loss.diversity_edge_cap)
                g_total -= self.diversity_edge_weight * tf.reduce_mean(tf.minimum(edge_diversity, cap))
                self.trackers["diversity_edge"].update_state(tf.reduce_mean(edge_diversity))
            g_scaled = self.g_optimizer.scale_loss(g_total / replicas)
        g_grads = g_tape.gradient(g_scaled, g_vars)
        self.g_optimizer.apply(g_grads, g_vars)
        return self._record(g_losses, d_losses)

    def _test_step(self, data):
        inputs = self.generator_inputs(data)
        outs = _float32(self.generator(inputs, training=False))
        d_losses = self._d_losses(data, outs, training=False) if self.disc_list else {}
        g_losses = self._g_losses(data, outs, d_training=False)
        return self._record(g_losses, d_losses)


def make_optimizers(cfg: Config) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
    """Adam for G and D with cfg.train.{g_lr, d_lr, adam_beta1, adam_beta2}; loss-scaled under mixed_float16."""
    t = cfg.train
    g = keras.optimizers.Adam(t.g_lr, beta_1=t.adam_beta1, beta_2=t.adam_beta2, name="g_adam")
    d = keras.optimizers.Adam(t.d_lr, beta_1=t.adam_beta1, beta_2=t.adam_beta2, name="d_adam")
    if keras.mixed_precision.global_policy().name == "mixed_float16":  # bfloat16 needs no loss scaling
        g = keras.optimizers.LossScaleOptimizer(g, name="g_loss_scale")
        d = keras.optimizers.LossScaleOptimizer(d, name="d_loss_scale")
    return g, d


def build_discriminators(resolutions: tuple[int, ...], cfg: Config) -> dict[int, keras.Model]:
    """One discriminator per adversarial resolution among ``resolutions`` (none when the adversarial loss is
    disabled): the paper's CASIA-Net, or the projected discriminator (``loss.adv_kind``)."""
    wanted = [r for r in adv_resolutions(cfg) if r in resolutions]
    if not wanted:
        return {}
    if cfg.loss.adv_kind == "projected":
        from ..models.projected import alexnet_weights, build_projected_discriminator

        alex = alexnet_weights(cfg)
        return {r: build_projected_discriminator(r, cfg, alex) for r in wanted}
    discs = {r: build_discriminator(r, cfg) for r in wanted}
    sync = sync_batchnorm(cfg)
    for d in discs.values():
        for layer in d.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.synchronized = sync  # read at call time (keras.ops.moments(synchronized=...))
    return discs


def sync_batchnorm(cfg: Config, strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether the discriminators' batch norm all-reduces its batch statistics (``train.sync_batchnorm``).

    ``auto``: when the strategy (default: the current one) has more than one replica, so that D sees the
    statistics of the whole global batch, as on the paper's single GPU.  Synchronised moments are
    E[x^2] - E[x]^2 over the global batch; unsynchronised ones are ``tf.nn.moments`` of each replica's
    share, which with one replica is the same quantity computed in another order.
    """
    mode = cfg.train.sync_batchnorm
    if mode == "auto":
        return (strategy or tf.distribute.get_strategy()).num_replicas_in_sync > 1
    return mode == "always"
