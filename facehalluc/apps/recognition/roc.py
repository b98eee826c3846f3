"""Face verification scoring: Pearson-correlation match scores, verification pairs, ROC, TPR@FPR, AUC, EER.

Paper §4.4: *"Each image is passed to the snapshot and its 256-D vector is extracted from the
penultimate (feat_extract) layer. We use these features to perform a verification experiment (all vs.
all matching) with Pearson correlation for scoring"*; Table 2 reports TPR at FPR = 0.01.

Definitions used throughout (scores: higher = more similar; labels: 1 = same identity ("genuine"),
0 = different identities ("impostor"); P genuine and N impostor pairs):

* A pair is *accepted* at threshold ``t`` when ``score >= t``.  ``TPR(t) = #{genuine: s >= t} / P``,
  ``FPR(t) = #{impostor: s >= t} / N``.
* **ROC curve** (:func:`roc_curve`): one point per *distinct* score value ``t`` (descending), plus the
  point (0, 0) for ``t = +inf``; the last point is (1, 1).  **Ties**: all pairs with the same score are
  accepted or rejected together, so a tie group containing both genuine and impostor pairs moves the
  curve in one diagonal step — no threshold can separate them, and no point inside the step is an
  achievable operating point.
* **TPR@FPR=f** (:func:`tpr_at_fpr`): the *largest TPR(t) over all thresholds t with FPR(t) <= f*.  When
  ``f`` falls between two ROC points (no threshold gives exactly ``f`` impostor acceptances) this is the
  TPR of the lower point: the best operating point a fixed threshold actually achieves without
  exceeding the target false-accept rate.  It is conservative: it never reports a TPR that no
  threshold achieves.  ``interpolate=True`` instead interpolates linearly on the ROC between that point
  and the next one (what ``numpy.interp(f, fpr, tpr)`` on a ROC does, as much published verification code
  does); that value is >= the step value and the two differ by at most the TPR jump of the step
  straddling ``f``.  The paper does not say which it used; with ~10^5 or more impostor pairs at paper
  scale, (0.01 N ~ 10^3 impostors above threshold) the two agree to ~1e-3.
* **AUC**: trapezoidal area under the ROC points (ties count 1/2: it equals the Mann-Whitney
  probability that a random genuine pair scores higher than a random impostor pair).
* **EER**: the error rate where ``FPR = FNR = 1 - TPR``, linearly interpolated between the two adjacent
  ROC points where ``FPR - FNR`` changes sign.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...utils.match import pearson_pairs, pearson_rows


# ----------------------------------------------------------------------------------------- scores
def pearson_scores(feats_a: np.ndarray, feats_b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation: ``out[i] = corr(feats_a[i], feats_b[i])`` over the D feature
    dimensions (the paper's match score, :func:`facehalluc.utils.match.pearson_rows`).  Rows with zero
    variance score 0 (``on_constant="zero"``: every verification pair needs a score)."""
    return pearson_rows(feats_a, feats_b, on_constant="zero")


def pair_scores(feats: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Pearson scores of the index pairs ``(i[k], j[k])`` of one feature matrix (chunked); constant rows score 0,
    as in :func:`pearson_scores` (:func:`facehalluc.utils.match.pearson_pairs`)."""
    return pearson_pairs(feats, i, j, on_constant="zero", chunk=chunk)


# ------------------------------------------------------------------------------------------ pairs
@dataclass
class Pairs:
    """Verification pairs: row indices ``i < j`` into the dataset, and ``same`` (1 genuine, 0 impostor)."""

    i: np.ndarray
    j: np.ndarray
    same: np.ndarray

    def __len__(self) -> int:
        return int(len(self.i))

    @property
    def n_genuine(self) -> int:
        return int(self.same.sum())

    @property
    def n_impostor(self) -> int:
        return int(len(self.same) - self.same.sum())


def verification_pairs(identities: Sequence[str], rows: np.ndarray | None = None,
                       max_impostors: int | None = None, seed: int = 0) -> Pairs:
    """All-vs-all verification pairs among ``rows`` (default: every row) of an identity list.

    Every unordered pair ``{a, b}`` of distinct rows is returned once (``i < j``): the pairs of two
    faces of the same identity are genuine, all others impostor.  With ``n`` faces of which identity
    ``k`` has ``n_k``, there are ``sum_k n_k (n_k - 1) / 2`` genuine and ``n (n - 1) / 2`` minus that
    impostor pairs.  ``rows`` restricts the pairs to a split (e.g. the val rows), so no pair crosses
    splits.  ``max_impostors``: keep a uniform random sample (``seed``) of that many impostor pairs
    (all genuine pairs are kept) — for paper-scale test sets whose all-vs-all impostor count would not
    fit in memory; None keeps all.
    """
    ids = np.asarray([str(s) for s in identities])
    rows = np.arange(len(ids)) if rows is None else np.sort(np.asarray(rows, np.int64))
    if len(np.unique(rows)) != len(rows):
        raise ValueError("rows must not repeat")
    _, code = np.unique(ids[rows], return_inverse=True)
    a, b = np.triu_indices(len(rows), k=1)
    same = (code[a] == code[b]).astype(np.int8)
    if max_impostors is not None and same.size - same.sum() > max_impostors:
        rng = np.random.default_rng(seed)
        imp = np.flatnonzero(same == 0)
        keep = np.sort(np.concatenate([np.flatnonzero(same == 1),
                                       rng.choice(imp, size=int(max_impostors), replace=False)]))
        a, b, same = a[keep], b[keep], same[keep]
    return Pairs(rows[a], rows[b], same)


# -------------------------------------------------------------------------------------------- ROC
@dataclass
class Roc:
    """ROC points (thresholds descending; fpr, tpr non-decreasing), starting at (0, 0) (``+inf``)."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    n_genuine: int
    n_impostor: int


def _check(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, np.float64).ravel()
    y = np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.shape} vs {y.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 (impostor) or 1 (genuine)")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("need at least one genuine (1) and one impostor (0) pair")
    return s, y


def roc_curve(scores, labels) -> Roc:
    """The ROC as defined in the module docstring: a point per distinct score (ties moved together)."""
    s, y = _check(scores, labels)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last_of_group = np.r_[s[1:] != s[:-1], True]  # the last index of each run of equal scores
    P, N = int(tp[-1]), int(fp[-1])
    tpr = np.r_[0.0, tp[last_of_group] / P]
    fpr = np.r_[0.0, fp[last_of_group] / N]
    thr = np.r_[np.inf, s[last_of_group]]
    return Roc(fpr, tpr, thr, P, N)


def tpr_at_fpr(scores, labels, fpr: float = 0.01, interpolate: bool = False) -> float:
    """TPR at a target FPR: the largest TPR among the thresholds whose FPR <= ``fpr`` (module docstring);
    ``interpolate=True``: linear interpolation on the ROC between that point and the next one."""
    roc = roc_curve(scores, labels)
    return tpr_at_fpr_roc(roc, fpr, interpolate)


def tpr_at_fpr_roc(roc: Roc, fpr: float = 0.01, interpolate: bool = False) -> float:
    if not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be in [0, 1], got {fpr}")
    ok = np.flatnonzero(roc.fpr <= fpr + 1e-12)  # fpr is non-decreasing: ok is a prefix
    k = int(ok[-1])  # the last admissible point has the largest TPR (tpr is non-decreasing too)
    tpr = float(roc.tpr[k])
    if interpolate and k + 1 < len(roc.fpr) and roc.fpr[k] < fpr:
        f0, f1, t0, t1 = roc.fpr[k], roc.fpr[k + 1], roc.tpr[k], roc.tpr[k + 1]
        tpr = float(t0 + (t1 - t0) * (fpr - f0) / (f1 - f0))
    return tpr


def auc(roc: Roc) -> float:
    """Trapezoidal area under the ROC points."""
    return float(np.sum(np.diff(roc.fpr) * (roc.tpr[1:] + roc.tpr[:-1]) / 2.0))


def eer(roc: Roc) -> float:
    """Equal error rate: FPR = FNR, linearly interpolated between the ROC points that bracket it."""
    d = roc.fpr - (1.0 - roc.tpr)  # FPR - FNR: from -1 at (0, 0) to +1 at (1, 1), non-decreasing
    k = int(np.flatnonzero(d >= 0)[0])
    if d[k] == 0:
        return float(roc.fpr[k])
    d0, d1 = d[k - 1], d[k]
    w = -d0 / (d1 - d0)
    return float(roc.fpr[k - 1] + w * (roc.fpr[k] - roc.fpr[k - 1]))


def summarize(scores, labels, fprs: Sequence[float] = (0.001, 0.01, 0.1)) -> dict:
    """Every number the experiment reports for one set of scores."""
    roc = roc_curve(scores, labels)
    out = {"n_genuine": roc.n_genuine, "n_impostor": roc.n_impostor, "auc": auc(roc), "eer": eer(roc)}
    for f in fprs:
        out[f"tpr@fpr={f:g}"] = tpr_at_fpr_roc(roc, f)
        out[f"tpr@fpr={f:g}_interp"] = tpr_at_fpr_roc(roc, f, interpolate=True)
    return out


def downsample_roc(roc: Roc, n: int = 400) -> dict:
    """ROC points for plotting / storing (at most ~``n``, log-spaced in FPR, always keeping the ends)."""
    f = roc.fpr
    grid = np.unique(np.r_[0.0, np.geomspace(max(1.0 / max(roc.n_impostor, 1), 1e-6), 1.0, n)])
    idx = np.unique(np.clip(np.searchsorted(f, grid, side="right") - 1, 0, len(f) - 1))
    idx = np.unique(np.r_[0, idx, len(f) - 1])
    return {"fpr": f[idx].round(7).tolist(), "tpr": roc.tpr[idx].round(7).tolist()}
