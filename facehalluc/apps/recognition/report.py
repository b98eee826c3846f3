"""results.json aggregation, the Table 2 style Markdown table and the ROC / sample figures."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

METRICS = ("tpr@fpr=0.01", "tpr@fpr=0.01_interp", "tpr@fpr=0.001", "tpr@fpr=0.1", "auc", "eer")
ARM_TITLES = {"real": "real only (Table 2 'Dataset 1')", "real+halluc": "real + hallucinated (Table 2 'Dataset 2')",
              "real+masked": "real + masked copies (control, not in the paper)"}


def _mean_sd(values: Sequence[float]) -> dict:
    v = np.asarray(values, np.float64)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else None, "n": int(len(v)),
            "values": [float(a) for a in v]}


def aggregate(records: dict[str, dict[int, dict]]) -> dict:
    """records[arm][seed] -> per-arm mean / sd (ddof=1) over seeds, and paired differences vs 'real'."""
    out: dict = {}
    for arm, by_seed in records.items():
        if not by_seed:
            continue
        seeds = sorted(by_seed)
        first = by_seed[seeds[0]]
        out[arm] = {"seeds": seeds, "data": first["data"], "steps": first["steps"],
                    "metrics": {m: _mean_sd([by_seed[s]["metrics"][m] for s in seeds]) for m in METRICS},
                    "train_seconds": _mean_sd([by_seed[s]["history"]["seconds"] for s in seeds])}
    # paired (same seed = same initial weights) differences: every arm vs "real", and the hallucinated
    # copies vs the masked-copy control
    comparisons = [(arm, "real") for arm in records if arm != "real"]
    comparisons.append(("real+halluc", "real+masked"))
    for arm, ref in comparisons:
        by_seed, base = records.get(arm, {}), records.get(ref, {})
        common = sorted(set(base) & set(by_seed))
        if arm in out and common:
            out[arm][f"paired_difference_vs_{ref}"] = {
                "seeds": common,
                **{m: _mean_sd([by_seed[s]["metrics"][m] - base[s]["metrics"][m] for s in common])
                   for m in ("tpr@fpr=0.01", "auc", "eer")}}
    return out


def _fmt(ms: dict, digits: int = 3) -> str:
    if ms["sd"] is None:
        return f"{ms['mean']:.{digits}f}"
    return f"{ms['mean']:.{digits}f} ± {ms['sd']:.{digits}f}"


def _shared(eval_info: dict) -> str:
    n = eval_info.get("n_identities_named_as_training")
    if n is None:
        return "identity overlap with training not recorded"
    return "no identity name shared with training" if n == 0 else f"{n} identity names shared with training"


def markdown_table(summary: dict, eval_info: dict) -> str:
    """Rows: arms; columns as the paper's Table 2 plus AUC / EER (mean ± sd over seeds)."""
    lines = ["| Training data | Real images (identities) | Added copies (identities) | Steps × batch "
             "| Seeds | TPR@FPR=0.01 | AUC | EER |",
             "|---|---|---|---|---|---|---|---|"]
    for arm, s in summary.items():
        d, m = s["data"], s["metrics"]
        lines.append(f"| {ARM_TITLES.get(arm, arm)} | {d['n_real']:,} ({d['n_identities']:,}) | "
                     f"{d.get('n_added', d['n_halluc']):,} ({d.get('n_added_identities', d['n_halluc_identities']):,}) | "
                     f"{s['steps']:,} × {d['batch_size']} | "
                     f"{len(s['seeds'])} | {_fmt(m['tpr@fpr=0.01'])} | {_fmt(m['auc'])} | {_fmt(m['eer'])} |")
    for arm, s in summary.items():
        for key, p in s.items():
            if not key.startswith("paired_difference_vs_"):
                continue
            ref = key[len("paired_difference_vs_"):]
            lines.append("")
            lines.append(f"Paired difference {arm} − {ref} over seeds {p['seeds']}: TPR@FPR=0.01 "
                         f"{_fmt(p['tpr@fpr=0.01'])}, AUC {_fmt(p['auc'])}, EER {_fmt(p['eer'])} "
                         f"(per seed: {', '.join(f'{v:+.3f}' for v in p['tpr@fpr=0.01']['values'])}).")
    lines.append("")
    lines.append(f"Test: {eval_info['n_faces']:,} real aligned faces of {eval_info['n_identities']:,} identities "
                 f"({eval_info['where']}), {_shared(eval_info)}; all-vs-all pairs: "
                 f"{eval_info['n_genuine']:,} genuine, {eval_info['n_impostor']:,} impostor; score = Pearson "
                 f"correlation of the penultimate-layer features. TPR@FPR=0.01 = the largest TPR among the "
                 f"thresholds whose FPR ≤ 0.01 (no interpolation). Mean ± sd (ddof = 1) over seeds.")
    return "\n".join(lines) + "\n"


def plot_rocs(rocs: dict[str, dict[int, dict]], path: Path, title: str = "") -> Path:
    """ROC curves (log FPR axis), one colour per arm, one line per seed; a dotted line at FPR = 0.01."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...utils.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
    colours = {"real": "tab:blue", "real+halluc": "tab:orange", "real+masked": "tab:green"}
    for arm, by_seed in rocs.items():
        for k, (seed, roc) in enumerate(sorted(by_seed.items())):
            f = np.asarray(roc["fpr"])
            t = np.asarray(roc["tpr"])
            keep = f > 0
            ax.plot(f[keep], t[keep], color=colours.get(arm), lw=1.2, alpha=0.8,
                    label=f"{arm}" if k == 0 else None)
    ax.axvline(0.01, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right")
    ax.set_title(title or "verification ROC (one line per seed)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def sample_grid(real: np.ndarray, halluc: np.ndarray, path: Path, n: int = 8) -> Path:
    """Two rows: real aligned training faces and their hallucinated copies (as the network sees them)."""
    from ...utils.image import grid, write_image

    n = min(n, len(real), len(halluc))
    return write_image(path, grid([list(real[:n]), list(halluc[:n])]), fsync=True)
