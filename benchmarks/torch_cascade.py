"""The generator cascade re-implemented in PyTorch (benchmark only; PyTorch is the optional ``bench`` extra).

Same layers as :func:`facehalluc.models.build_cascade` for the presets the benchmarks use (``paper``, ``cpu``,
``shipped``, ``tiny``: ``mask_injection=replace``, ``skip_mode`` concat/add/none, tanh upscalers, affine or raw
output range), written the way a PyTorch user would: NCHW, ``nn.Conv2d``/``nn.Linear``, ``F.pixel_shuffle``.

``tf_padding=True`` pads the stride-2 convolutions like TensorFlow's ``"same"`` (0 before, 1 after) so that
:func:`copy_keras_weights` makes the two networks compute the same function (tests/models/test_torch_cascade.py).
The benchmark uses the idiomatic symmetric ``padding=1`` (same shapes and FLOPs, no extra pad copy).
Channel-order differences (``depth_to_space`` vs ``pixel_shuffle``, NHWC vs NCHW flatten) are absorbed by
permuting weights in :func:`copy_keras_weights`, so the forward pass carries no extra transposes.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facehalluc.models.tables import BOTTLENECK_HW, GENERATOR_TABLES


def _width(f: int, cfg) -> int:
    return max(1, f // cfg.model.width_divisor)


class _Conv(nn.Conv2d):
    """Conv2d with TensorFlow "same" padding; stride 2 pads (0, 1) if ``tf_padding`` else symmetric 1."""

    def __init__(self, cin, cout, k, stride=1, dilation=1, tf_padding=False):
        self.tf_asym = tf_padding and stride == 2
        pad = 0 if self.tf_asym else dilation * (k - 1) // 2
        super().__init__(cin, cout, k, stride=stride, dilation=dilation, padding=pad)

    def forward(self, x):
        if self.tf_asym:
            x = F.pad(x, (0, 1, 0, 1))
        return super().forward(x)


class Block(nn.Module):
    def __init__(self, resolution: int, cfg, tf_padding: bool = False):
        super().__init__()
        m = cfg.model
        self.slope, self.affine, self.skip_mode = m.g_leaky_slope, m.output_range == "affine", m.skip_mode
        rows = GENERATOR_TABLES[resolution]
        self.layers = nn.ModuleDict()
        self.plan: list[tuple] = []
        c, hw, skips, i = 3, resolution, [], 0  # skips: (channels, hw) of conv0 / rb outputs
        while rows[i].kind in ("conv", "rb"):
            r = rows[i]
            w = _width(r.filters, cfg)
            if r.kind == "conv":
                self.layers[r.name] = _Conv(c, w, r.kernel, r.stride, r.dilation, tf_padding)
                self.plan.append(("conv", r.name, r.name == "conv0"))
                hw //= r.stride
            else:
                self.layers[r.name + "_a"] = _Conv(c, w, 3)
                self.layers[r.name + "_b"] = _Conv(w, w, 3)
                self.plan.append(("rb", r.name, True))
            c = w
            if self.plan[-1][2]:
                skips.append((c, hw))
            i += 1
        fcs = [r for r in rows if r.kind == "fc"]
        n_in = c * hw * hw
        for r in fcs:
            self.layers[r.name] = nn.Linear(n_in, _width(r.filters, cfg))
            n_in = _width(r.filters, cfg)
            self.plan.append(("fc", r.name, False))
        c, hw = n_in // (BOTTLENECK_HW ** 2), BOTTLENECK_HW
        self.plan.append(("reshape", c, False))
        for r in rows[i + len(fcs):]:
            if r.kind == "conv":
                self.layers[r.name] = _Conv(c, _width(r.filters, cfg), 3)
                c = _width(r.filters, cfg)
                self.plan.append(("conv", r.name, False))
            elif r.kind == "ps":
                c, hw = c // 4, hw * 2
                match = [k for k, s in enumerate(skips) if s == (c, hw)] if self.skip_mode != "none" else []
                self.plan.append(("ps", match[-1] if match else None, False))
                if match and self.skip_mode == "concat":
                    c *= 2
            elif r.kind == "out":
                self.layers[r.name] = _Conv(c, 3, r.kernel)
                self.plan.append(("out", r.name, False))

    def _lrelu(self, x):
        return F.leaky_relu(x, self.slope)

    def forward(self, x):
        if self.affine:
            x = x * 2 - 1
        skips = []
        for kind, name, keep in self.plan:
            if kind == "conv":
                x = self.layers[name](x)
                if not name.startswith("out"):
                    x = self._lrelu(x)
            elif kind == "rb":
                y = self._lrelu(self.layers[name + "_a"](x))
                x = self._lrelu(x + self.layers[name + "_b"](y))
            elif kind == "fc":
                x = self._lrelu(self.layers[name](x.flatten(1)))
            elif kind == "reshape":
                x = x.view(x.shape[0], name, BOTTLENECK_HW, BOTTLENECK_HW)
            elif kind == "ps":
                x = F.pixel_shuffle(x, 2)
                if name is not None:
                    x = torch.cat([x, skips[name]], 1) if self.skip_mode == "concat" else x + skips[name]
            elif kind == "out":
                x = torch.tanh(self.layers[name](x))
            if keep:
                skips.append(x)
        return (x + 1) * 0.5 if self.affine else x


class Upscaler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.conv = _Conv(3, 12, cfg.model.upscaler_kernel)
        self.affine = cfg.model.output_range == "affine"
        self.tanh = cfg.model.upscaler_activation == "tanh"

    def forward(self, x):
        x = F.pixel_shuffle(self.conv(x * 2 - 1 if self.affine else x), 2)
        if not self.tanh:
            return x
        x = torch.tanh(x)
        return (x + 1) * 0.5 if self.affine else x


class TorchCascade(nn.Module):
    """``forward(masked, mask)`` with dicts {r: NCHW tensor} -> {r: composited output}."""

    def __init__(self, cfg, tf_padding: bool = False):
        super().__init__()
        m = cfg.model
        if m.mask_injection != "replace" or m.noise_channels or m.bottleneck_skip:
            raise ValueError("TorchCascade covers mask_injection=replace without noise or bottleneck skip")
        self.res, self.thr = tuple(m.resolutions), float(m.mask_threshold)
        self.raw_source = m.upscale_source == "raw"
        self.stop_grad = m.stop_gradient_between_blocks
        self.blocks = nn.ModuleDict({str(r): Block(r, cfg, tf_padding) for r in self.res})
        self.ups = nn.ModuleDict({str(r): Upscaler(cfg) for r in self.res[:-1]})

    def forward(self, masked: dict, mask: dict) -> dict:
        outs, prev = {}, None
        for r in self.res:
            face = mask[r] >= self.thr
            guide = masked[r] if prev is None else torch.where(face, masked[r], self.ups[str(r // 2)](prev))
            raw = self.blocks[str(r)](guide)
            outs[r] = torch.where(face, masked[r], raw)
            prev = raw if self.raw_source else outs[r]
            if self.stop_grad:
                prev = prev.detach()
        return outs


def _conv_w(k: np.ndarray) -> np.ndarray:
    return np.transpose(k, (3, 2, 0, 1))  # (kh, kw, in, out) -> (out, in, kh, kw)


def _ps_perm(c_out: int) -> np.ndarray:
    """torch channel c*4 + k takes TF (depth_to_space) channel k*C + c."""
    c = c_out // 4
    return np.array([k * c + ch for ch in range(c) for k in range(4)])


@torch.no_grad()
def copy_keras_weights(cascade, tmodel: TorchCascade) -> None:
    """Copies the Keras cascade's weights into ``tmodel`` (layers matched by name)."""
    def put(mod, kernel, bias, out_perm=None, in_perm=None):
        k = kernel if kernel.ndim == 2 else _conv_w(kernel)
        if kernel.ndim == 2:
            k = k.T  # (in, out) -> (out, in)
        if out_perm is not None:
            k, bias = k[out_perm], bias[out_perm]
        if in_perm is not None:
            k = k[:, in_perm]
        mod.weight.copy_(torch.from_numpy(np.ascontiguousarray(k)))
        mod.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias)))

    for r in tmodel.res:
        kb = cascade.get_layer(f"block_{r}")
        tb = tmodel.blocks[str(r)]
        enc_c, enc_hw = None, None
        for name, mod in tb.layers.items():
            kl = kb.get_layer(f"block_{r}_{name}")
            kernel, bias = kl.get_weights()
            if isinstance(mod, nn.Linear) and name == "fc1":
                n = kernel.shape[0]
                enc_c = kb.get_layer(f"block_{r}_flatten").input.shape[-1]
                enc_hw = int(round((n // enc_c) ** 0.5))
                # torch flattens (c, h, w); Keras flattens (h, w, c)
                perm = np.arange(n).reshape(enc_hw, enc_hw, enc_c).transpose(2, 0, 1).reshape(-1)
                put(mod, kernel, bias, in_perm=perm)
            elif isinstance(mod, nn.Linear):
                n, c = kernel.shape[1], kernel.shape[1] // BOTTLENECK_HW ** 2
                perm = np.arange(n).reshape(BOTTLENECK_HW, BOTTLENECK_HW, c).transpose(2, 0, 1).reshape(-1)
                put(mod, kernel, bias, out_perm=perm)
            elif name.startswith("dec_conv"):
                put(mod, kernel, bias, out_perm=_ps_perm(kernel.shape[-1]))
            else:
                put(mod, kernel, bias)
    for r in tmodel.res[:-1]:
        kl = cascade.get_layer(f"upscale_{r}_to_{2 * r}").get_layer(f"upscale_{r}_to_{2 * r}_conv")
        kernel, bias = kl.get_weights()
        put(tmodel.ups[str(r)].conv, kernel, bias, out_perm=_ps_perm(12))
