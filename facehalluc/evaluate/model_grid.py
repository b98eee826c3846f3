"""Sample grids of trained generators on the same held-out faces as the baseline grid.

    python -m facehalluc.evaluate.model_grid --data work_data/lfw.h5 --model runs/a --model runs/b \
        --out grid.png [--baselines runs/baselines_val] [--blocks] [--n 8]

The faces are :func:`facehalluc.evaluate.baselines.sample_indices` (the first ``n`` val faces by source
path), so every method's figure shows the same people.  ``--blocks`` (one model): columns masked | out_8 …
out_128 | real.  Otherwise: real | masked | each ``--baselines`` method | each model's out_128 (``--samples K``:
K columns for each style-noise model, sample j of grid row i drawn with ``default_rng((seed, j, i))``).
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from facehalluc.evaluate.baselines import sample_indices
from facehalluc.utils.image import figure_grid, nearest_resize, to_float


def _faces(h5: str | Path, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from facehalluc.data.schema import read_strings

    with h5py.File(h5, "r") as f:
        order = np.argsort(rows)
        sorted_rows = rows[order]
        aligned = f["aligned"][sorted_rows]
        masked = f["masked"][sorted_rows]
        src = read_strings(f, "source")
    inv = np.argsort(order)
    labels = ["\n".join(Path(src[int(r)]).stem.rsplit("_", 1)) for r in rows]
    return aligned[inv], masked[inv], labels


def model_grid(h5: str | Path, models: dict[str, str | Path], path: str | Path, n: int = 8, split: str = "val",
               baselines: str | Path | None = None, blocks: bool = False, title: str = "", samples: int = 1,
               seed: int = 0) -> Path:
    """Writes the grid PNG (see the module docstring) and returns its path."""
    from facehalluc.infer.engine import load_hallucinator

    rows = sample_indices(h5, n, split)
    aligned, masked, labels = _faces(h5, rows)
    x = to_float(masked)
    cols: dict[str, list[np.ndarray]] = {}
    if blocks:
        if len(models) != 1:
            raise ValueError("--blocks shows one model's block outputs; give exactly one --model")
        name, run = next(iter(models.items()))
        out = load_hallucinator(run).run(x)
        cols["masked"] = list(masked)
        for k in sorted((k for k in out if k.startswith("out_")), key=lambda k: int(k.split("_")[1])):
            cols[k] = [nearest_resize(np.clip(o, 0, 1), 128) for o in out[k]]
        cols["real"] = list(aligned)
        return figure_grid(cols, path, labels, title or f"{name}: held-out faces, blocks 8..128")
    cols["real"] = list(aligned)
    cols["masked"] = list(masked)
    if baselines is not None:
        import csv

        from facehalluc.evaluate.images import load_image

        base = Path(baselines)
        with (base / "index.csv").open() as fh:
            by_row = {int(r["row"]): r["name"] for r in csv.DictReader(fh)}
        for m in ("median_fill", "telea", "ns", "biharmonic"):
            if (base / m).is_dir():
                cols[m] = [load_image(base / m / f"{by_row[int(r)]}.png") for r in rows]
    for name, run in models.items():
        hal = load_hallucinator(run)
        drawn = hal.sample(x, k=samples if hal.stochastic else 1, seed=seed)
        for j, out in enumerate(drawn):
            cols[name if len(drawn) == 1 else f"{name} #{j}"] = [np.clip(o, 0, 1) for o in out["out_128"]]
    return figure_grid(cols, path, labels, title or f"{Path(h5).name}, {split}: first {n} faces by source path")


if __name__ == "__main__":  # the command line: facehalluc.evaluate.cli.model_grid
    from facehalluc.evaluate.cli.model_grid import main

    raise SystemExit(main())
