"""Summarise training run directories into one committed result file (steps, wall time, val losses, commands).

    python docs/tools/run_summary.py --out results/realism/runs.json NAME=RUN_DIR [NAME=RUN_DIR ...]

Wall time per run: :func:`facehalluc.pretrained.provenance.training_wall_seconds` (the same figure a packed
model's manifest records), on a 2-core machine shared with the other runs of the study (see docs).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from facehalluc.pretrained.provenance import read_commands, training_wall_seconds


def summarise(run: Path) -> dict:
    cmds = read_commands(run)
    hist = [json.loads(ln) for ln in (run / "history.jsonl").read_text().splitlines() if ln.strip()]
    keys = ("val_b128_pixel", "val_b128_pc", "val_b64_pixel", "b128_adv", "b128_d", "b64_d", "b128_fm", "b8_d", "diversity", "diversity_edge")
    return {"steps": hist[-1]["global_step"], "epochs": hist[-1]["epoch"], "wall_seconds": training_wall_seconds(run, cmds),
            "commands": [" ".join(c["argv"]) for c in cmds], "commit": cmds[0]["git"]["commit"],
            "init_from": (json.loads((run / "init_from.json").read_text()) if (run / "init_from.json").is_file()
                          else {}).get("init_from"),
            "history": [{"epoch": h["epoch"], "step": h["global_step"], **{k: round(h[k], 5) for k in keys if k in h}}
                        for h in hist]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("runs", nargs="+", metavar="NAME=RUN_DIR")
    args = ap.parse_args()
    doc = {name: summarise(Path(path)) for name, _, path in (r.partition("=") for r in args.runs)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    for name, d in doc.items():
        last = d["history"][-1]
        print(f"{name:20s} {d['steps']:6d} steps {d['wall_seconds'] / 60:6.1f} min  val L1 b128 "
              f"{last.get('val_b128_pixel', float('nan')):.4f}  val LPIPS v0.0 b128 {last.get('val_b128_pc', float('nan')):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
