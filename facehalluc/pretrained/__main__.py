"""``python -m facehalluc.pretrained``: inspect, verify or build a packed (shipped) generator.

    python -m facehalluc.pretrained info                 # the shipped model's manifest
    python -m facehalluc.pretrained verify [DIR]         # sha256 check + load (exit 1 on failure)
    python -m facehalluc.pretrained pack --run RUN_DIR --data work_data/lfw.h5 --out DIR \\
        [--provenance provenance.json] [--check-faces 256]

``pack`` stores the run's generator as float16 (refused unless out_128 differs from float32 by at most
1/255 on the first ``--check-faces`` val faces of ``--data``), the per-pixel median of the train split
(the median-fill baseline) and a manifest with sha256s and the provenance JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..utils.quiet import quiet_tensorflow


def summary(man: dict) -> str:
    """A few lines a person reads before the JSON: what the model is and where it came from."""
    p = man.get("provenance", {})
    code = p.get("code", {})
    lines = [f"model: config {man.get('config')}, {man.get('parameters', 0):,} parameters, "
             f"{man.get('bytes', 0) / 1e6:.1f} MB float16, sha256 {str(man.get('sha256'))[:16]}…",
             f"code: commit {code.get('commit') or 'not recorded'}" + (" (dirty tree)" if code.get("dirty") else ""),
             "libraries: " + ", ".join(f"{k} {v}" for k, v in (p.get("libraries") or {}).items()) if p.get("libraries")
             else "libraries: not recorded",
             f"data: {(p.get('data') or {}).get('file', 'not recorded')} sha256 "
             f"{str((p.get('data') or {}).get('sha256', 'not recorded'))[:16]}",
             f"commands: {len(p.get('commands') or [])} recorded; wall {p.get('wall_seconds', 'not recorded')} s"]
    missing = p.get("not_recoverable")
    if missing:
        lines.append("not recoverable: " + "; ".join(missing))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m facehalluc.pretrained", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="print the shipped model's manifest")
    v = sub.add_parser("verify", help="sha256-check and load a packed model (default: the shipped one)")
    v.add_argument("dir", nargs="?", type=Path)
    k = sub.add_parser("pack", help="pack a training run as float16 weights + manifest")
    k.add_argument("--run", type=Path, required=True, help="training run directory")
    k.add_argument("--data", type=Path, required=True, help="the run's dataset .h5 (train median, val check faces)")
    k.add_argument("--out", type=Path, required=True)
    k.add_argument("--provenance", type=Path, help="JSON file with the training command, steps, wall time ...")
    k.add_argument("--check-faces", type=int, default=256, help="val faces for the fp16-vs-fp32 check")
    k.add_argument("--force", action="store_true",
                   help="pack even from a git tree with uncommitted changes (recorded as dirty)")
    args = p.parse_args(argv)
    quiet_tensorflow()
    from ..store.packed import load_packed_generator, pack, read_manifest
    from ..store.spec import ShippedModelError, resolve_model
    from .provenance import DirtyTreeError, collect

    try:
        if args.cmd == "info":
            man = read_manifest(resolve_model("default"))
            print(summary(man))
            print(json.dumps(man, indent=2))
            return 0
        if args.cmd == "verify":
            d = args.dir or resolve_model("default")
            _, cfg = load_packed_generator(d)
            print(f"{d}: sha256 ok, loaded (config {cfg.name})")
            return 0
        from ..data import read_arrays
        from ..evaluate.baselines import train_median
        from ..utils.image import to_float

        record = collect(args.run, args.data, force=args.force)  # refuses a dirty tree first
        val = read_arrays(args.data, "val")
        faces = to_float(val.masked[:args.check_faces])
        median, n = train_median(args.data, progress=True)
        prov = json.loads(args.provenance.read_text()) if args.provenance else {}
        prov.setdefault("train_median_images", n)
        prov = {**record, **prov}
        man = pack(args.run, args.out, provenance=prov, check_faces=faces, train_median=median)
        print(json.dumps(man, indent=2))
        return 0
    except (ShippedModelError, DirtyTreeError, OSError, ValueError) as e:
        print(f"facehalluc.pretrained: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
