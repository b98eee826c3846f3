"""Regenerate every generated table in the docs from committed result files.

    python docs/tools/tables.py            # rewrite the tables in place
    python docs/tools/tables.py --check    # exit 1 (and show a diff) when a doc differs from its result files

A generated table sits between two marker comments in a Markdown file of the repository (README.md,
docs/*.md):

    <!-- table:NAME -->
    | ... the table, written by this tool ... |
    <!-- /table:NAME -->

NAME is a key of :data:`TABLES`, which says which committed files under ``results/`` the table is made of
and how. Everything between the markers is replaced, so a number edited by hand there is either overwritten
(rewrite) or reported (``--check``; ``tests/docs/test_tables.py`` runs it). A marker whose NAME is not in
:data:`TABLES`, a table in :data:`TABLES` that no doc uses, or a missing result file are errors.
Numbers outside the markers are not checked: docs/results.md lists which documented numbers still have no
result file.
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parents[2]
#: files scanned for markers (relative to ROOT)
DOC_GLOBS = ("README.md", "docs/*.md")
MARKER = re.compile(r"^<!-- table:(?P<name>[A-Za-z0-9_.-]+) -->\n(?P<body>.*?)^<!-- /table:(?P=name) -->$",
                    re.M | re.S)
OPEN = re.compile(r"^<!-- /?table:(?P<name>[A-Za-z0-9_.-]+) -->$", re.M)


def _rows(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    from facehalluc.evaluate.table import markdown_rows

    return markdown_rows(header, body)


# ------------------------------------------------------------------------------------------ renderers
def cpu_table(files: Sequence[str]) -> Callable[[Path], list[str]]:
    """The "Table 1 at CPU scale" layout of ``facehalluc.evaluate.table`` over these result JSONs."""
    def render(root: Path) -> list[str]:
        from facehalluc.evaluate.table import cpu_cells, load_any

        header, body = cpu_cells(load_any([root / f for f in files]))
        return _rows(header, body)
    render.sources = tuple(files)  # type: ignore[attr-defined]
    return render


def runs_table(file: str, arms: Sequence[tuple[str, str]]) -> Callable[[Path], list[str]]:
    """arm | what | steps | wall minutes, from a ``docs/tools/run_summary.py`` file (``what`` is prose)."""
    def render(root: Path) -> list[str]:
        runs = json.loads((root / file).read_text())
        body = [[name, what, f"{runs[name]['steps']:,}", f"{runs[name]['wall_seconds'] / 60:.1f}"]
                for name, what in arms]
        return _rows(["arm", "what", "steps", "wall (min, shared)"], body)
    render.sources = (file,)  # type: ignore[attr-defined]
    return render


def floors_table(file: str) -> Callable[[Path], list[str]]:
    """Real photos and blurred real photos under the training-free measures (``realism_floors`` output)."""
    labels = {"real_halves": "real photos, one half vs the other", "blur_sigma_1": "real, region blurred σ = 1 px",
              "blur_sigma_2": "real, region blurred σ = 2 px", "blur_sigma_4": "real, region blurred σ = 4 px"}

    def render(root: Path) -> list[str]:
        d = json.loads((root / file).read_text())
        body = [[labels.get(k, k), f"{r['nss_fd']:.1f}", f"{r['contrast_ratio']:.2f}",
                 str(r.get("n", r.get("n_per_side"))) + (" per half" if "n_per_side" in r else "")] for k, r in d["rows"].items() if k in labels]
        return _rows(["reference", "NSS Fréchet distance ↓", "contrast ÷ real →1", "faces"], body)
    render.sources = (file,)  # type: ignore[attr-defined]
    return render


def perf_table(file: str, kind: str) -> Callable[[Path], list[str]]:
    """The whitespace table of a ``results/perf/*.txt`` file (lines not starting with '#')."""
    def render(root: Path) -> list[str]:
        lines = [ln for ln in (root / file).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        head, rows = re.split(r"\s{2,}", lines[0].strip()), [ln.split() for ln in lines[1:]]
        col = {h: i for i, h in enumerate(head)}
        body = []
        for i, r in enumerate(rows):
            body.append([kind if i == 0 else "same", {"xla": "XLA"}.get(r[col["path"]], r[col["path"]]),
                         r[col["precision"]], r[col["s/step"]], r[col["images/s"]],
                         r[col["share of matmul"]].replace("%", " %")])
        order = {("graph", "float32"): 0, ("graph", "bf16"): 1, ("XLA", "float32"): 2, ("XLA", "bf16"): 3}
        body.sort(key=lambda c: order.get((c[1], c[2]), 9))
        for i, c in enumerate(body):
            c[0] = kind if i == 0 else "same"
        return _rows(["CPU kind", "path", "precision", "s/step (batch 8)", "images/s",
                      "step GFLOP/s ÷ matmul GFLOP/s"], body)
    render.sources = (file,)  # type: ignore[attr-defined]
    return render


def dlib_port_table(parity: Sequence[str], bench: str) -> Callable[[Path], list[str]]:
    """Parity (``benchmarks/dlib_parity.py``) and speed (``benchmarks/bench_dlib_port.py``) of the dlib port."""
    def render(root: Path) -> list[str]:
        body = []
        for f in parity:
            d = json.loads((root / f).read_text())
            body.append([f"parity, {d['n_faces']} LFW faces (same chips; dlib {d['libraries']['dlib-bin']})",
                         f"max abs difference {d['max_abs_diff']:.1e} (mean {d['mean_abs_diff']:.1e}); pair distances "
                         f"within {d['max_abs_pair_distance_diff']:.1e}, same decisions at 0.6: "
                         f"{'yes' if d['same_decisions_at_0.6'] else 'NO'}", f"`{d['command']}`", f"`{f}`"])
        b = json.loads((root / bench).read_text())
        body.append([f"embedding speed, batch {b['batch']} ({b['machine']['cpu']}, {b['machine']['cores']} cores, "
                     f"load average {b['load_average_1min']['after']:.1f})",
                     f"port {b['images_per_s']['port']:.1f} images/s, dlib {b['images_per_s']['dlib']:.1f} images/s: "
                     f"**{b['ratio_port_over_dlib']:.1f}×**", f"`{b['command']}`", f"`{bench}`"])
        return _rows(["what", "figure", "command", "result file"], body)
    render.sources = (*parity, bench)  # type: ignore[attr-defined]
    return render


def lpips_pairs_table(file: str) -> Callable[[Path], list[str]]:
    """LPIPS v0.0 / v0.1 of a few LFW pairs (``benchmarks/lpips_lfw_pairs.py --out``)."""
    def render(root: Path) -> list[str]:
        rows = json.loads((root / file).read_text())["rows"]
        pairs = list(dict.fromkeys((r["a"], r["b"]) for r in rows))
        got = {(r["a"], r["b"], r["version"]): r["lpips"] for r in rows}
        body = [[f"{a} vs {b}", f"{got[a, b, '0.0']:.4f}", f"{got[a, b, '0.1']:.4f}"] for a, b in pairs]
        return _rows(["pair", "LPIPS v0.0", "LPIPS v0.1"], body)
    render.sources = (file,)  # type: ignore[attr-defined]
    return render


def model_sizes_table(file: str) -> Callable[[Path], list[str]]:
    """Parameters and forward GFLOPs per network (``python -m facehalluc.models --json``)."""
    def render(root: Path) -> list[str]:
        d = json.loads((root / file).read_text())
        body = [[r["network"], f"{r['parameters']:,}", f"{r['gflops_per_image']:.3f}"] for r in d["rows"]]
        n_blocks = sum(r["network"].startswith("block_") for r in d["rows"])
        n_up = sum(r["network"].startswith("upscaler") for r in d["rows"])
        body.append([f"**cascade ({n_blocks} blocks + {n_up} upscalers)**", f"**{d['cascade']['parameters']:,}**",
                     f"**{d['cascade']['gflops_per_image']:.3f}**"])
        return _rows(["network", "parameters", "forward GFLOPs / image"], body)
    render.sources = (file,)  # type: ignore[attr-defined]
    return render


def heldout_photos_table(file: str) -> Callable[[Path], list[str]]:
    """Shipped model vs median fill on raw held-out LFW photos (``facehalluc.evaluate.heldout_photos``)."""
    def render(root: Path) -> list[str]:
        d = json.loads((root / file).read_text())
        return _rows(["photos (held-out people)", "LPIPS v0.1, shipped model ↓", "LPIPS v0.1, median fill ↓",
                      "model better on"],
                     [[str(d["n"]), f"{d['mean_model']:.4f}", f"{d['mean_median_fill']:.4f}",
                       f"{d['model_better']} of {d['n']}"]])
    render.sources = (file,)  # type: ignore[attr-defined]
    return render


def prepare_table(file: str) -> Callable[[Path], list[str]]:
    """Counts and wall time of one ``data/prepare.py`` run (its report, wrapped with command and commit)."""
    def render(root: Path) -> list[str]:
        d = json.loads((root / file).read_text())
        r = d["report"]
        why = ", ".join(f"{k} {v:,}" for k, v in r["skipped_by_reason"].items())
        c = r["crop_outside_photo"]
        m = d["machine"]
        body = [["photos read", f"{r['n_files']:,}"], ["faces written", f"{r['n_faces']:,}"],
                ["photos skipped", f"{r['n_skipped']:,} ({why})"]]
        for s in ("train", "val", "test"):
            if f"n_{s}" in r:
                body.append([f"{s} split", f"{r[f'n_{s}']:,} faces of {r[f'n_identities_{s}']:,} people"])
        body += [["photos with several faces (the largest is used)", f"{r['n_photos_with_several_faces']:,}"],
                 ["crops reaching outside the photo (border filled by reflection)",
                  f"{100 * c['share_of_faces']:.1f} % of faces (mean {100 * c['mean_fraction']:.1f} % of the crop, "
                  f"max {100 * c['max_fraction']:.0f} %)"],
                 ["detector", (f"a first pass at upsample 0 (boxes scoring ≥ "
                               f"{r['preprocess']['detector_first_pass_min_score']}), upsample "
                               f"{r['preprocess']['detector_upsample']} only when it finds none")
                  if r["preprocess"].get("detector_upsample_retry")
                  else f"one pass at upsample {r['preprocess']['detector_upsample']}"],
                 ["wall time", f"{r['wall_seconds_this_call']:.1f} s, {r['workers']} workers, {m['cpu']} "
                  f"({m['cores']} cores; {'/'.join(m['isa'])}), {d['load']}; {d['date']}"],
                 ["command", f"`{d['command']}` (commit {d['git']['commit'][:7]})"]]
        return _rows(["LFW deep-funneled", f"`{file}`"], body)
    render.sources = (file,)  # type: ignore[attr-defined]
    return render


def prepare_summary_table(files: Sequence[tuple[str, str]]) -> Callable[[Path], list[str]]:
    """One line per ``data/prepare.py`` report: counts, split sizes, wall time (the compact form of prepare_table)."""
    def render(root: Path) -> list[str]:
        body = []
        for label, f in files:
            d = json.loads((root / f).read_text())
            r = d["report"]
            why = ", ".join(f"{k} {v:,}" for k, v in r["skipped_by_reason"].items())
            splits = " / ".join(f"{r[f'n_{s}']:,} ({r[f'n_identities_{s}']:,})" for s in ("train", "val", "test")
                                if r.get(f"n_{s}"))
            body.append([label, f"{r['n_files']:,}", f"{r['n_faces']:,}", f"{r['n_skipped']:,} ({why})", splits,
                         f"{r['wall_seconds_this_call']:.1f} s, {r['workers']} worker{'s' * (r['workers'] != 1)}, "
                         f"{d['machine']['cpu']}, {d['load']}, {d['date']}", f"`{f}`"])
        return _rows(["LFW deep-funneled, detector", "photos", "faces", "skipped", "faces (people): train / val / test",
                      "wall time", "result file"], body)
    render.sources = tuple(f for _, f in files)  # type: ignore[attr-defined]
    return render

def spectrum_tolerance_table(files: Sequence[tuple[str, str]]) -> Callable[[Path], list[str]]:
    """Real-vs-real spread of the background-spectrum measure (``benchmarks/spectrum_tolerance.py``)."""
    def render(root: Path) -> list[str]:
        body = []
        for label, f in files:
            d = json.loads((root / f).read_text())
            for band, name in (("hf", "HF (≥ 0.5 c/px)"), ("mid", "mid (0.25–0.47 c/px)")):
                b = d[band]
                lo, hi = b["val_bootstrap_95_db"]
                body.append([f"{label}, {d['n_val']} faces", name, ", ".join(f"{x:+.2f}" for x in b["train_vs_val_db"]),
                             f"{b['train_vs_val_max_abs_db']:.2f}", f"[{lo:+.2f}, {hi:+.2f}]", f"`{f}`"])
        return _rows(["val set", "band", f"{d['draws']} random train sets of the same size vs val (dB)",
                      "largest difference in size (dB)", f"val bootstrap ({d['boot']}×), 95 % interval (dB)",
                      "result file"], body)
    render.sources = tuple(f for _, f in files)  # type: ignore[attr-defined]
    return render


_TODAY_VAL = "today's val"

#: (folder under results/, method): every classical fill, then the shipped model
_BASELINES = (("baselines", "masked"), ("realism", "median_fill"), ("baselines", "telea"), ("realism", "ns"),
              ("realism", "biharmonic"), ("realism", "shipped_v1"))

_ARMS = ("median_fill", "ns", "biharmonic", "shipped_v1", "R0_control", "R1_lsgan", "R2_lsgan_diffaug",
         "R3_projected", "R3_projected_1500", "R4_projected_adv0.3_1500")

#: NAME -> renderer(root) -> the table's lines; ``renderer.sources`` are the result files it reads
def sampling_table(files: Sequence[tuple[str, str]]) -> Callable[[Path], list[str]]:
    """Diversity, per-sample realism and identity of style-noise models (``facehalluc.evaluate.sampling``)."""
    def render(root: Path) -> list[str]:
        header = ("model", "faces", "K", "diversity: context s.d. ÷ real ↑ (training-free)",
                  "diversity: pairwise LPIPS ÷ real ↑ (AlexNet, as L_pc)", "NSS distance, mean (worst) sample ↓",
                  "contrast ÷ real, mean sample →1", "LPIPS v0.1 to real, mean ↓", "dlib identity cosine, mean ↑")
        body = []
        for name, f in files:
            d = json.loads((root / f).read_text())
            div = d["diversity"]
            lp = div.get("lpips_pairwise")
            body.append((name, str(d["n_faces"]), str(d["samples_per_face"]), f"{div['context_sd']['ratio']:.3f}",
                         f"{lp['ratio']:.3f}" if lp else "–",
                         f"{d['mean_nss_fd']:.1f} ({d['worst_nss_fd']:.1f})", f"{d['mean_contrast_ratio']:.3f}",
                         f"{d['mean_lpips_v0.1_to_real']:.4f}" if "mean_lpips_v0.1_to_real" in d else "–",
                         f"{d['mean_dlib_identity_cosine']:.3f}" if "mean_dlib_identity_cosine" in d else "–"))
        return _rows(header, body)
    render.sources = tuple(f for _, f in files)  # type: ignore[attr-defined]
    return render


_PEEKS = (("shipped_v1", "shipped_v1"), ("S1_imle, 500 steps", "S1_imle_500"), ("S1_imle, 1,000 steps", "S1_imle_1000"),
          ("S2_imle_noadv, 500 steps", "S2_imle_noadv_500"), ("S3_imle_noiseinit, 500 steps", "S3_imle_noiseinit_500"))

def copies_table(k1: str, k3: str, real: str | None = None) -> Callable[[Path], list[str]]:
    """Table 2 with K = 1 vs K = 3 hallucinated copies (two ``recognition.experiment`` results files, paired seeds);
    ``real``: the file whose ``real`` arm to use (default ``k1``'s; the arm does not depend on the generator)."""
    def render(root: Path) -> list[str]:
        import numpy as np

        a, b = (json.loads((root / f).read_text())["summary"] for f in (k1, k3))
        r = json.loads((root / real).read_text())["summary"]["real"] if real else a["real"]
        arms = (("real only", r), ("real + 1 hallucinated copy per face", a["real+halluc"]),
                ("real + 3 hallucinated copies per face", b["real+halluc"]))
        body = []
        for name, arm in arms:
            m = arm["metrics"]
            t = m["tpr@fpr=0.01"]
            body.append((name, f"{arm['data']['n_train_images']:,}", f"{arm['steps']:,} × {arm['data']['batch_size']}",
                         f"{t['mean']:.3f} ± {t['sd']:.3f}", " / ".join(f"{v:.3f}" for v in t["values"]),
                         f"{m['auc']['mean']:.3f} ± {m['auc']['sd']:.3f}", f"{m['eer']['mean']:.3f} ± {m['eer']['sd']:.3f}"))
        for name, x, y in (("K = 1 − real", arms[1][1], arms[0][1]), ("K = 3 − real", arms[2][1], arms[0][1]),
                           ("K = 3 − K = 1", arms[2][1], arms[1][1])):
            d = np.subtract(x["metrics"]["tpr@fpr=0.01"]["values"], y["metrics"]["tpr@fpr=0.01"]["values"])
            body.append((f"paired difference, {name}", "", "", f"{d.mean():+.3f} ± {d.std(ddof=1):.3f}",
                         " / ".join(f"{v:+.3f}" for v in d), "", ""))
        return _rows(("training data", "images", "steps × batch", "TPR@FPR=0.01 (mean ± sd)", "per seed 0 / 1 / 2",
                      "AUC", "EER"), body)
    render.sources = (k1, k3) + ((real,) if real else ())  # type: ignore[attr-defined]
    return render


def identity_band_table(file: str) -> Callable[[Path], list[str]]:
    """images | dlib cosine with the b px next to the face given back, per b, from ``docs/tools/identity_band.py``."""
    def render(root: Path) -> list[str]:
        res = json.loads((root / file).read_text())
        bands = [str(b) for b in res["bands_px"]]
        body = [(name, *(f"{row[b]:.4f}" for b in bands)) for name, row in res["models"].items()]
        body.append(("shipped v1 (deterministic)", *(f"{res['deterministic_default']:.4f}" for _ in bands)))
        return _rows(("images (sample 0)", *(f"b = {b} px" if b != "0" else "as they are" for b in bands)), body)
    render.sources = (file,)  # type: ignore[attr-defined]
    return render


_FINAL_VAL = (("shipped_v1", "shipped_v1"), ("S1_imle, 2,500 steps", "S1_imle"),
              ("S1_imle, 1,500 steps", "S1_imle_at_S3_steps"), ("S3_imle_noiseinit, 1,500 steps", "S3_imle_noiseinit"),
              ("S4_ds_noise64, 1,500 steps", "S4_ds64"), ("S5_ds, 1,500 steps", "S5_ds"),
              ("S6_ds_noise128, 1,500 steps", "S6_ds128"), ("S7_ds64_weight3, 1,500 steps", "S7_ds64_l3"),
              ("S8_long (S6 + 1,500 steps)", "S8_long"), ("S9_w3cap4 (S6 + 1,500 steps, weight 3, τ 0.4)", "S9_w3cap4"),
              ("S10_w2cap3 (S6 + 2,000 steps, weight 2, τ 0.3)", "S10_w2cap3"),
              ("S11_edge (S6 + 2,000 steps, + edge term)", "S11_edge"),
              ("S12_band8 (S10 + 2,000 steps, weight 3, τ 0.4, band 8 px)", "S12_band8"),
              ("S13_band16 (S10 + 2,000 steps, weight 3, τ 0.4, band 16 px)", "S13_band16"),
              ("S14_long (S13 + 1,000 steps, S13's recipe)", "S14_long"),
              ("S15_w4cap5 (S13 + 1,000 steps, weight 4, τ 0.5, band 16 px)", "S15_w4cap5"))

TABLES: dict[str, Callable[[Path], list[str]]] = {
    "sampling_val": sampling_table([(n, f"results/sampling/val/{f}.json") for n, f in _FINAL_VAL]),
    "sampling_test": sampling_table([(n, f"results/sampling/test/{f}.json") for n, f in
                                     (("shipped_v1", "shipped_v1"), ("S1_imle (sampling preset), 2,500 steps", "S1_imle"),
                                      ("S4_ds_noise64, 1,500 steps", "S4_ds64"),
                                      ("S6_ds_noise128, 1,500 steps", "S6_ds128"),
                                      ("S10_w2cap3 (S6 + 2,000 steps, weight 2, τ 0.3)", "S10_w2cap3"),
                                      ("S13_band16 (S10 + 2,000 steps, weight 3, τ 0.4, band 16 px)",
                                       "S13_band16"))]),
    "sampling_runs": runs_table("results/sampling/runs.json", (
        ("S1_imle", "the `sampling` preset: `realism` + 4 noise channels at blocks 8/16/32 (zero-initialised) + "
                    "conditional IMLE, 6 draws"),
        ("S2_imle_noadv", "S1 without the adversarial term and feature matching (stopped at 500 steps)"),
        ("S3_imle_noiseinit", "S1 with the noise weights initialised at 0.25 × each kernel's RMS "
                              "(`model.noise_init_std=0.25`)"),
        ("S4_ds_noise64", "S3 + the diversity-sensitive term (`loss.diversity_weight=1`, `loss.diversity_cap=0.2`) "
                          "+ noise also at block 64 (`model.noise_resolutions=(8,16,32,64)`)"),
        ("S5_ds", "S3 + the diversity-sensitive term (`loss.diversity_weight=1`, `loss.diversity_cap=0.2`)"),
        ("S6_ds_noise128", "S4 + noise at block 128 too (`model.noise_resolutions=(8,16,32,64,128)`); scored at 1,500 steps"),
        ("S7_ds64_weight3", "S4 with the diversity weight tripled (`loss.diversity_weight=3`); ran on to 1,750 steps, "
                            "scored at 1,500 (`snapshots/epoch_006.weights.h5`)"),
        ("S8_long", "S6's generator + 1,500 steps of S6's recipe (`--init-from` S6; fresh discriminators)"),
        ("S9_w3cap4", "S6's generator + 1,500 steps with weight 3 and cap 0.4 (`loss.diversity_weight=3 "
                      "loss.diversity_cap=0.4`)"),
        ("S10_w2cap3", "S6's generator + 2,000 steps with weight 2 and cap 0.3 (`loss.diversity_weight=2 "
                       "loss.diversity_cap=0.3`)"),
        ("S11_edge", "S6's generator + 2,000 steps of S6's recipe + the edge term (`loss.diversity_edge_weight=2 "
                     "loss.diversity_edge_cap=0.08`)"),
        ("S12_band8", "S10's generator + 2,000 steps with weight 3, cap 0.4 and the terms kept off the 8 px next to "
                      "the face (`loss.diversity_weight=3 loss.diversity_cap=0.4 loss.diversity_band_px=8`)"),
        ("S13_band16", "S12 with a 16 px band (`loss.diversity_band_px=16`)"),
        ("S14_long", "S13's generator + 1,000 steps of S13's recipe (planned 1,500; stopped at 1,000, see round 7)"),
        ("S15_w4cap5", "S13's generator + 1,000 steps with weight 4 and cap 0.5, band 16 px "
                       "(`loss.diversity_weight=4 loss.diversity_cap=0.5 loss.diversity_band_px=16`)"))),
    "sampling_table2": copies_table("results/sampling/table2_k1.json", "results/sampling/table2_k3.json"),
    "sampling_table2_s10": copies_table("results/sampling/table2_s10_k1.json", "results/sampling/table2_s10_k3.json",
                                        real="results/sampling/table2_k1.json"),
    "sampling_table2_s13": copies_table("results/sampling/table2_s13_k1.json", "results/sampling/table2_s13_k3.json",
                                        real="results/sampling/table2_k1.json"),
    "sampling_identity_band": identity_band_table("results/sampling/identity_band/val.json"),
    "sampling_val_peeks": sampling_table([(n, f"results/sampling/val_peeks/{f}.json") for n, f in _PEEKS]),
    "realism_val": cpu_table([f"results/realism/val/{a}.json" for a in _ARMS]),
    "realism_test": cpu_table([f"results/realism/test/{a}.json" for a in _ARMS]),
    "model_card_test": cpu_table([f"results/realism/test/{a}.json" for a in
                                  ("median_fill", "ns", "biharmonic", "shipped_v1", "R3_projected", "S1_imle")]),
    "realism_runs": runs_table("results/realism/runs.json", (
        ("R0_control", "shipped v1 continued, no adversarial term (the equal-budget control)"),
        ("R1_lsgan", "(a) the paper's per-block LSGAN (CASIA-Net on every block, λ_adv 0.1, real label 0.9)"),
        ("R2_lsgan_diffaug", "(b) R1 + DiffAugment (color, translation, cutout) on everything D sees"),
        ("R3_projected", "(c) the `realism` preset: projected discriminator on frozen AlexNet (layers 1, 2, 5; "
                         "fixed random 1×1 projections; trainable heads), hinge, logits weighted by the hallucinated "
                         "share, blocks 64 and 128 only, feature matching λ_fm 0.1, λ_adv 0.1 ramped over 500 steps"),
        ("R4_projected_adv0.3", "(d) R3 with λ_adv 0.3 ramped over 250 steps (started later; compared with R3's "
                                "1,500-step snapshot)"))),
    "realism_floors_test": floors_table("results/realism/floors_test.json"),
    "dlib_port": dlib_port_table(("results/dlib/parity_lfw500.json", "results/dlib/parity_lfw50.json"),
                                 "results/dlib/bench_port_vs_dlib.json"),
    "shipped_heldout_photos": heldout_photos_table("results/shipped/heldout_photos48.json"),
    "model_sizes_paper": model_sizes_table("results/models/paper.json"),
    "lpips_lfw_pairs": lpips_pairs_table("results/lpips/lfw_pairs.json"),
    "prepare_lfw": prepare_table("results/data/lfw_prepare_report.json"),
    "prepare_lfw_summary": prepare_summary_table((
        ("today's default (first pass at upsample 0, retry at 1)", "results/data/lfw_prepare_report.json"),
        ("the shipped v1 model's recipe (one pass at upsample 1), held-out faces all val",
         "results/data/lfw_v1recipe_prepare_report.json"))),
    "baselines_val": cpu_table([f"results/{d}/val/{a}.json" for d, a in _BASELINES]),
    "spectrum_tolerance": spectrum_tolerance_table((
        (_TODAY_VAL, "results/spectrum/tolerance_val.json"),
        ("v1's data (held-out faces all val)", "results/spectrum/tolerance_v1recipe_580.json"))),
    "heldout580_v1data": cpu_table([f"results/v1_val580/{a}.json" for a in
                                    ("masked", "median_fill", "telea", "ns", "biharmonic", "shipped")]),
    "baselines_test": cpu_table([f"results/{d}/test/{a}.json" for d, a in _BASELINES]),
    "bf16_intel_amx": perf_table("results/perf/bf16_train_step_intel_amx.txt",
                                 "Intel Xeon, AVX-512 + AVX512-BF16 + AMX-BF16, 2 cores"),
}


# --------------------------------------------------------------------------------------- the rewrite
@dataclass
class DocResult:
    path: Path
    old: str
    new: str
    names: list[str]


def doc_files(root: Path) -> list[Path]:
    return sorted({p for g in DOC_GLOBS for p in root.glob(g) if p.is_file()})


def render_doc(text: str, root: Path, where: str = "") -> tuple[str, list[str]]:
    """``text`` with every marked table regenerated, and the names of those tables."""
    names = []
    opened = [m.group("name") for m in OPEN.finditer(text)]
    for name in set(opened):
        if opened.count(name) != 2:
            raise ValueError(f"{where}: marker table:{name} is not one open/close pair")

    def sub(m: re.Match) -> str:
        name = m.group("name")
        if name not in TABLES:
            raise ValueError(f"{where}: unknown table {name!r} (known: {', '.join(sorted(TABLES))})")
        names.append(name)
        return f"<!-- table:{name} -->\n" + "\n".join(TABLES[name](root)) + f"\n<!-- /table:{name} -->"
    return MARKER.sub(sub, text), names


def run(root: Path = ROOT) -> list[DocResult]:
    out, used = [], []
    for p in doc_files(root):
        old = p.read_text()
        new, names = render_doc(old, root, str(p.relative_to(root)))
        used += names
        if names:
            out.append(DocResult(p, old, new, names))
    unused = sorted(set(TABLES) - set(used))
    if unused:
        raise ValueError(f"tables no doc uses (add their markers or drop them): {', '.join(unused)}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when a doc is out of date")
    ap.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = ap.parse_args(argv)
    try:
        docs = run(args.root)
    except (ValueError, OSError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    stale = [d for d in docs if d.new != d.old]
    for d in docs:
        rel = d.path.relative_to(args.root)
        if args.check:
            if d.new != d.old:
                sys.stdout.writelines(difflib.unified_diff(d.old.splitlines(True), d.new.splitlines(True),
                                                           f"{rel} (docs)", f"{rel} (from results/)"))
        elif d.new != d.old:
            d.path.write_text(d.new)
        print(f"{rel}: {', '.join(d.names)} {'differs' if d.new != d.old else 'ok'}"
              + ("" if args.check or d.new == d.old else " -> rewritten"), file=sys.stderr)
    if args.check and stale:
        print("docs differ from the result files: run `python docs/tools/tables.py`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
