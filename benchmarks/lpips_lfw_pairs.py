"""LPIPS v0.0 / v0.1 (AlexNet) distances for a few LFW pairs, with the converted official weights.

    python benchmarks/lpips_lfw_pairs.py [--lfw ../shared/data/lfw] [--out results/lpips/lfw_pairs.json]

Needs `python -m facehalluc.weights convert lpips_alex_v0.0 ...` and `... v0.1` done first.
Images are the 250x250 deep-funneled LFW JPEGs, RGB in [0, 1], compared at full size.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


PAIRS = [("George_W_Bush/George_W_Bush_0001.jpg", "George_W_Bush/George_W_Bush_0002.jpg"),
         ("George_W_Bush/George_W_Bush_0001.jpg", "Colin_Powell/Colin_Powell_0001.jpg")]


def main() -> None:
    from facehalluc.utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from facehalluc.config import load_config
    from facehalluc.nets import lpips_from_config
    from facehalluc.utils.image import read_image, to_float

    p = argparse.ArgumentParser()
    p.add_argument("--lfw", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/lfw")
    p.add_argument("--out", type=Path, help="result JSON (distances, command, commit, library versions, machine)")
    args = p.parse_args()
    rows = []
    load = lambda rel: to_float(read_image(args.lfw / rel))[None]  # noqa: E731
    for version in ("0.0", "0.1"):
        model = lpips_from_config(load_config("paper", [f"loss.lpips_version={version}"]))
        for a, b in PAIRS:
            d = float(keras.ops.convert_to_numpy(model([load(a), load(b)]))[0])
            print(f"LPIPS v{version}  {Path(a).stem} vs {Path(b).stem}: {d:.4f}")
            rows.append({"version": version, "a": Path(a).stem, "b": Path(b).stem, "lpips": d})
    if args.out:
        from facehalluc.utils.provenance import git_state, library_versions, machine

        root = Path(__file__).resolve().parents[1]
        res = {"what": "LPIPS (AlexNet, official weights converted) between full 250x250 LFW deep-funneled JPEGs",
               "rows": rows, "command": "python " + " ".join([str(Path(__file__).resolve().relative_to(root)),
                                                             *sys.argv[1:]]),
               "git": git_state(root), "libraries": library_versions(), "machine": machine(),
               "date": time.strftime("%Y-%m-%d", time.gmtime())}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
