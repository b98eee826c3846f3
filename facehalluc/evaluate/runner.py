"""Scores (original, hallucinated) image pairs with the paper's four metrics and the offline proxies.

:func:`evaluate_arrays` is the library entry point (arrays in, :class:`EvaluationResult` + per-image scores
out); :func:`write_outputs` writes the JSON, the per-image CSV and the best/worst figures.  A network metric
whose converted official weights are absent is reported ``unavailable`` with the command that provides them;
it is **never** computed with random weights.
"""
from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from facehalluc.evaluate import metrics as M
from facehalluc.evaluate.paper_numbers import HIGHER_IS_BETTER, METRIC_KEYS, METRIC_TITLES
from facehalluc.evaluate.results import EvaluationResult, MetricResult, save_result
from facehalluc.utils.image import to_float, to_uint8

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from facehalluc.config import Config

log = logging.getLogger(__name__)

#: paper metric -> registry name of the network it needs (SSIM needs none)
NETWORK_OF: dict[str, str] = {"match": "resnet50_256d_vggface2", "fid": "fid_inception", "pieapp": "pieapp_v0.1"}
#: offline proxies (never under the paper's column names; see facehalluc.evaluate.offline and
#: docs/evaluation.md): dlib identity, LPIPS v0.1, L1 outside the face mask, FD-AlexNet, corner spectrum
PROXY_KEYS: tuple[str, ...] = ("dlib_identity", "lpips", "l1_bg", "fd_alexnet", "spectrum", "realism")
#: per-image proxy columns and whether higher is better
PROXY_COLUMNS: dict[str, bool] = {"dlib_identity_cosine": True, "dlib_identity_distance": False,
                                  "lpips_v0.1": False, "l1_background": False, "region_contrast": True}
#: per-image columns where closer to 0 is better (best/worst figures rank by |value|)
ZERO_BEST_COLUMNS: tuple[str, ...] = ("spectrum_hf_excess_db", "spectrum_mid_excess_db")
LPIPS_EVAL_NETWORK = "lpips_alex_v0.1"


@dataclass
class EvalOptions:
    """What to compute and how."""

    metrics: tuple[str, ...] = METRIC_KEYS
    proxies: tuple[str, ...] = ("dlib_identity",)
    batch_size: int = 16
    progress: bool = True
    fast_fid: bool = False  # Tr sqrt via eigh instead of scipy sqrtm (same value; see metrics.frechet_distance)
    cfg: "Config | None" = None  # only its weights.cache_dir is used

    def __post_init__(self) -> None:
        bad = [m for m in self.metrics if m not in METRIC_KEYS]
        if bad:
            raise ValueError(f"unknown metrics {bad}; expected a subset of {list(METRIC_KEYS)}")
        bad = [p for p in self.proxies if p not in PROXY_KEYS]
        if bad:
            raise ValueError(f"unknown proxies {bad}; expected a subset of {list(PROXY_KEYS)}")


@dataclass
class Scores:
    """Everything one evaluation produced."""

    result: EvaluationResult
    per_image: dict[str, np.ndarray] = field(default_factory=dict)  # column -> (N,) values


def network_weights(name: str, cfg: "Config | None") -> tuple[Path | None, MetricResult | None]:
    """(path of converted weights, None) or (None, an 'unavailable' result naming the command)."""
    import facehalluc.nets.weight_specs  # noqa: F401 - registers the frozen nets' weight specs
    from facehalluc.weights import MissingWeightsError, WeightsIntegrityError, get_spec, weights_path

    spec = get_spec(name)
    command = f"python -m facehalluc.weights convert {name} --src " + " ".join(s.filename for s in spec.sources)
    if spec.converter is None:
        return None, MetricResult.unavailable(
            f"no converter for '{name}' is implemented yet, so its official weights cannot be used", "")
    try:
        return weights_path(name, cfg), None
    except MissingWeightsError as e:
        return None, MetricResult.unavailable(str(e).splitlines()[0], command)
    except WeightsIntegrityError as e:
        return None, MetricResult.unavailable(str(e), command)


def batched_features(model: "keras.Model", images: np.ndarray, batch_size: int, desc: str,
                     progress: bool) -> np.ndarray:
    """``model`` applied to uint8/float [0, 1] images in batches -> float64 (N, D)."""
    from tqdm import tqdm

    out = []
    for i in tqdm(range(0, len(images), batch_size), desc=desc, disable=not progress, unit="batch"):
        out.append(np.asarray(model(to_float(images[i:i + batch_size]), training=False), dtype=np.float64))
    return np.concatenate(out, axis=0)


def _load(builder: Callable[[], "keras.Model"], path: Path) -> "keras.Model":
    model = builder()
    model.load_weights(str(path))
    return model


def evaluate_arrays(real: np.ndarray, fake: np.ndarray, opts: EvalOptions, name: str = "method",
                    settings: dict[str, object] | None = None, masks: np.ndarray | None = None) -> Scores:
    """Scores uint8 (or [0, 1] float) image arrays (N, 128, 128, 3) pair by pair.

    ``masks`` (N, 128, 128), non-zero = face: needed by the ``l1_bg`` and ``spectrum`` proxies (reported
    ``unavailable`` without them).
    """
    from tqdm import tqdm

    if real.shape != fake.shape or real.ndim != 4 or real.shape[-1] != 3:
        raise M.MetricInputError(f"real {real.shape} and fake {fake.shape} must be equal (N, H, W, 3) arrays")
    n = len(real)
    metrics: dict[str, MetricResult] = {}
    proxies: dict[str, MetricResult] = {}
    per_image: dict[str, np.ndarray] = {}
    for key in METRIC_KEYS:
        if key not in opts.metrics:
            metrics[key] = MetricResult(status="not_requested")
            continue
        if key == "ssim":
            vals = np.array([M.ssim_pair(a, b) for a, b in tqdm(list(zip(real, fake)), desc="SSIM",
                                                                 disable=not opts.progress, unit="pair")])
            per_image["ssim"] = vals
            metrics[key] = MetricResult.ok(vals.mean(), std=float(vals.std()), win_size=M.SSIM_WIN_SIZE,
                                           data_range=M.SSIM_DATA_RANGE, gaussian_weights=M.SSIM_GAUSSIAN_WEIGHTS)
            continue
        path, missing = network_weights(NETWORK_OF[key], opts.cfg)
        if missing is not None:
            log.warning("%s unavailable: %s %s", METRIC_TITLES[key], missing.reason, missing.command)
            metrics[key] = missing
            continue
        assert path is not None
        if key == "fid":
            from facehalluc.nets.fid_inception import build_fid_inception

            net = _load(build_fid_inception, path)
            fr = batched_features(net, real, opts.batch_size, "FID real", opts.progress)
            ff = batched_features(net, fake, opts.batch_size, "FID fake", opts.progress)
            metrics[key] = MetricResult.ok(M.frechet_distance_features(fr, ff, fast=opts.fast_fid), n_real=n,
                                           n_fake=n, feature_dim=int(fr.shape[1]),
                                           sqrt_method="eigh" if opts.fast_fid else "scipy.linalg.sqrtm")
        elif key == "match":
            from facehalluc.nets.resnet50_vggface2 import build_resnet50_256d

            net = _load(build_resnet50_256d, path)
            fr = batched_features(net, real, opts.batch_size, "ResNet-50 real", opts.progress)
            ff = batched_features(net, fake, opts.batch_size, "ResNet-50 fake", opts.progress)
            vals = M.pearson_match_scores(fr, ff)
            per_image["match"] = vals
            metrics[key] = MetricResult.ok(vals.mean(), std=float(vals.std()))
        elif key == "pieapp":
            from facehalluc.nets.pieapp import build_pieapp, pieapp_scores

            net = _load(build_pieapp, path)
            vals = pieapp_scores(net, real, fake, progress=opts.progress)
            per_image["pieapp"] = vals
            metrics[key] = MetricResult.ok(vals.mean(), std=float(vals.std()))
    if "dlib_identity" in opts.proxies:
        from facehalluc.evaluate.identity import DlibEmbedder, IdentityProxyUnavailable, identity_scores

        try:
            emb = DlibEmbedder.load()
        except IdentityProxyUnavailable as e:
            proxies["dlib_identity_cosine"] = MetricResult.unavailable(str(e), "pip install dlib-bin "
                                                                                "face_recognition_models")
        else:
            er, ef, found = emb.embed_pairs(to_uint8(real), to_uint8(fake), progress=opts.progress)
            cos, dist = identity_scores(er, ef)
            per_image["dlib_identity_cosine"], per_image["dlib_identity_distance"] = cos, dist
            proxies["dlib_identity_cosine"] = MetricResult.ok(cos.mean(), std=float(cos.std()),
                                                              faces_detected=int(found.sum()), n=n)
            proxies["dlib_identity_distance"] = MetricResult.ok(dist.mean(), std=float(dist.std()),
                                                                same_person_threshold=0.6)
    _offline_measures(real, fake, masks, opts, proxies, per_image)
    result = EvaluationResult(name=name, n_pairs=n, metrics=metrics, proxies=proxies,
                              created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              settings=dict(settings or {}))
    return Scores(result=result, per_image=per_image)


def _offline_measures(real: np.ndarray, fake: np.ndarray, masks: np.ndarray | None, opts: EvalOptions,
                      proxies: dict[str, MetricResult], per_image: dict[str, np.ndarray]) -> None:
    """LPIPS v0.1, L1 outside the mask, FD-AlexNet and the corner spectrum (see facehalluc.evaluate.offline)."""
    from facehalluc.evaluate import offline as O

    n = len(real)
    no_mask = MetricResult.unavailable("needs the face masks: give evaluate.py --mask DIR (or put a 'mask' "
                                       "folder beside --real)", "python -m facehalluc.evaluate.baselines")
    if "lpips" in opts.proxies or "fd_alexnet" in opts.proxies:
        path, missing = network_weights(LPIPS_EVAL_NETWORK, opts.cfg)
        if missing is not None:
            log.warning("LPIPS / FD-AlexNet unavailable: %s %s", missing.reason, missing.command)
            for key, proxy in (("lpips_v0.1", "lpips"), ("fd_alexnet", "fd_alexnet")):
                if proxy in opts.proxies:
                    proxies[key] = missing
        else:
            from tqdm import tqdm

            from facehalluc.nets.lpips import build_lpips

            assert path is not None
            lp = _load(lambda: build_lpips("0.1"), path)
            if "lpips" in opts.proxies:
                vals = []
                for i in tqdm(range(0, n, opts.batch_size), desc="LPIPS v0.1", disable=not opts.progress,
                              unit="batch"):
                    sl = slice(i, i + opts.batch_size)
                    vals.append(np.asarray(lp([to_float(real[sl]), to_float(fake[sl])], training=False),
                                           dtype=np.float64).reshape(-1))
                v = np.concatenate(vals)
                per_image["lpips_v0.1"] = v
                proxies["lpips_v0.1"] = MetricResult.ok(v.mean(), std=float(v.std()), network=LPIPS_EVAL_NETWORK,
                                                        label=O.MEASURES["lpips_v0.1"].label)
            if "fd_alexnet" in opts.proxies:
                feat = O.alexnet_feature_model(lp)
                fr = batched_features(feat, real, opts.batch_size, "AlexNet real", opts.progress)
                ff = batched_features(feat, fake, opts.batch_size, "AlexNet fake", opts.progress)
                proxies["fd_alexnet"] = MetricResult.ok(
                    O.fd_alexnet(fr, ff), n_real=n, n_fake=n, feature_dim=int(fr.shape[1]),
                    features="LPIPS AlexNet relu1..relu5, spatial mean, concatenated (ImageNet-normalised "
                             "input, native 128x128)", label=O.MEASURES["fd_alexnet"].label,
                    note="NOT FID; biased upwards when N < feature_dim: compare at equal N")
    if "l1_bg" in opts.proxies:
        if masks is None:
            proxies["l1_background"] = no_mask
        else:
            v = O.l1_outside_mask(real, fake, masks)
            per_image["l1_background"] = v
            proxies["l1_background"] = MetricResult.ok(v.mean(), std=float(v.std()), units="[0,1] per channel",
                                                       label=O.MEASURES["l1_background"].label)
    if "spectrum" in opts.proxies:
        if masks is None:
            proxies["spectrum_hf_excess_db"] = proxies["spectrum_mid_excess_db"] = no_mask
        else:
            s = O.spectrum_compare(real, fake, masks)
            per_image["spectrum_hf_excess_db"] = s.per_image
            per_image["spectrum_mid_excess_db"] = s.per_image_mid
            proxies["spectrum_hf_excess_db"] = MetricResult.ok(
                s.hf_excess_db, label=O.MEASURES["spectrum_hf_excess_db"].label, **O.spectrum_details(s, n))
            proxies["spectrum_mid_excess_db"] = MetricResult.ok(
                s.mid_excess_db, label=O.MEASURES["spectrum_mid_excess_db"].label,
                band_bins=list(O.MID_BAND), curve_in="spectrum_hf_excess_db")
    if "realism" in opts.proxies:
        if masks is None:
            proxies["nss_fd"] = proxies["contrast_ratio"] = no_mask
        else:
            from facehalluc.evaluate import realism as R

            rr = R.realism_compare(real, fake, masks)
            per_image["region_contrast"] = rr.contrast_fake
            proxies["nss_fd"] = MetricResult.ok(
                rr.nss_fd, label=O.MEASURES["nss_fd"].label, n=n, feature_dim=R.N_FEATURES,
                features="BRISQUE MSCN GGD/AGGD fits in the hallucinated region (eroded 3 px), scales 128 and 64, "
                         "standardised by the real set", network="none (training-free)")
            proxies["contrast_ratio"] = MetricResult.ok(
                rr.contrast_ratio, label=O.MEASURES["contrast_ratio"].label,
                real_mean_std=float(rr.contrast_real.mean()), fake_mean_std=float(rr.contrast_fake.mean()),
                network="none (training-free)")


def _higher_better(column: str) -> bool:
    return HIGHER_IS_BETTER.get(column, PROXY_COLUMNS.get(column, True))


def write_per_image_csv(path: Path, names: Sequence[str], per_image: dict[str, np.ndarray]) -> Path:
    cols = list(per_image)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", *cols])
        for i, n in enumerate(names):
            w.writerow([n, *(f"{per_image[c][i]:.6f}" for c in cols)])
    return path


def best_worst_figure(path: Path, column: str, values: np.ndarray, names: Sequence[str], real: np.ndarray,
                      fake: np.ndarray, k: int = 4) -> Path:
    """Top row: the k best pairs (original | hallucinated), bottom row: the k worst, by ``column``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = np.flatnonzero(np.isfinite(values))  # NaN: not scored (e.g. no usable corner patch)
    key = np.abs(values[finite]) if column in ZERO_BEST_COLUMNS else values[finite]
    order = finite[np.argsort(key)]
    if _higher_better(column) and column not in ZERO_BEST_COLUMNS:
        order = order[::-1]
    k = min(k, len(order))
    rows = [("best", order[:k]), ("worst", order[::-1][:k])]
    fig, axes = plt.subplots(2, k, figsize=(2.4 * k, 5.2), squeeze=False)
    for r, (label, idx) in enumerate(rows):
        for c, i in enumerate(idx):
            ax = axes[r][c]
            ax.imshow(np.concatenate([real[i], fake[i]], axis=1))
            ax.set_title(f"{label}: {values[i]:.3f}\n{names[i][-24:]}", fontsize=7)
            ax.axis("off")
    fig.suptitle(f"{column}: left original, right hallucinated", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_outputs(scores: Scores, out_json: Path, names: Sequence[str], real: np.ndarray,
                  fake: np.ndarray, figures: bool = True) -> dict[str, Path]:
    """``out_json``, ``<stem>_per_image.csv`` beside it and ``<stem>_<column>_best_worst.png`` figures."""
    out_json = Path(out_json)
    written = {"json": save_result(scores.result, out_json)}
    written["csv"] = write_per_image_csv(out_json.with_name(f"{out_json.stem}_per_image.csv"), names,
                                         scores.per_image)
    spec = scores.result.proxies.get("spectrum_hf_excess_db")
    if spec is not None and spec.status == "ok" and "curve" in spec.details:
        written.update(write_spectrum_curves(out_json.with_name(f"{out_json.stem}_spectrum"),
                                             {scores.result.name: spec.details["curve"]}, plot=figures))
    if figures:
        for col, vals in scores.per_image.items():
            if not np.isfinite(vals).any():
                continue
            written[f"fig_{col}"] = best_worst_figure(out_json.with_name(f"{out_json.stem}_{col}_best_worst.png"),
                                                      col, vals, names, real, fake)
    return written


def write_spectrum_curves(stem: Path, curves: dict[str, dict[str, list[float]]],
                          plot: bool = True) -> dict[str, Path]:
    """``<stem>.csv`` (one row per method and radial bin) and ``<stem>.png`` (log power and excess, per method)."""
    from facehalluc.evaluate.offline import HF_BAND, MID_BAND, PATCH

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = {"spectrum_csv": stem.with_name(stem.name + ".csv")}
    with out["spectrum_csv"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "bin", "freq_cycles_per_pixel", "log10_power_real", "log10_power_fake",
                    "excess_db"])
        for method, c in curves.items():
            for b, row in enumerate(zip(c["freq_cycles_per_pixel"], c["log10_power_real"], c["log10_power_fake"],
                                        c["excess_db"])):
                w.writerow([method, b, *(f"{v:.6g}" for v in row)])
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        first = next(iter(curves.values()))
        a1.plot(first["freq_cycles_per_pixel"], first["log10_power_real"], "k-", lw=2, label="real (originals)")
        for method, c in curves.items():
            a1.plot(c["freq_cycles_per_pixel"], c["log10_power_fake"], "-", lw=1, label=method)
            a2.plot(c["freq_cycles_per_pixel"], c["excess_db"], "-", lw=1, label=method)
        for ax in (a1, a2):
            ax.axvspan(MID_BAND[0] / PATCH, MID_BAND[1] / PATCH, color="0.95", zorder=0)
            ax.axvspan(HF_BAND[0] / PATCH, HF_BAND[1] / PATCH, color="0.85", zorder=0)
            ax.axvline(0.5, color="0.6", ls=":", lw=1)
            ax.set_xlabel("radial frequency (cycles/pixel)")
        a1.set_ylabel("log10 mean power (luminance, [0,1] units)")
        a1.set_title("background corners (32x32, Hann): power spectrum\n"
                     "shaded: mid and HF summary bands, dotted: axis Nyquist", fontsize=9)
        a2.axhline(0.0, color="k", lw=1)
        a2.set_ylabel("excess over originals (dB)")
        a2.set_title("> 0: excess HF power (checkerboard/noise); < 0: smearing", fontsize=9)
        a2.legend(fontsize=7)
        a1.legend(fontsize=7)
        fig.tight_layout()
        out["spectrum_png"] = stem.with_name(stem.name + ".png")
        fig.savefig(out["spectrum_png"], dpi=100)
        plt.close(fig)
    return out
