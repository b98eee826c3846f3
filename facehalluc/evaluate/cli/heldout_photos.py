"""``python -m facehalluc.evaluate.heldout_photos``: the command line of
:mod:`facehalluc.evaluate.heldout_photos` (see its docstring)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from facehalluc.evaluate import heldout_photos as _lib
from facehalluc.evaluate.heldout_photos import score


def main(argv: Sequence[str] | None = None) -> int:
    from facehalluc.utils.quiet import quiet_tensorflow

    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.heldout_photos", description=_lib.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=Path, required=True, help="LFW deep-funneled folder (one folder per person)")
    ap.add_argument("--lpips", type=Path, required=True, help="folder with lpips_v0.1_alex.pth and "
                                                             "alexnet_features_torchvision.pth")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--out", type=Path, help="result JSON")
    args = ap.parse_args(argv)
    quiet_tensorflow()
    res = score(args.lfw, args.lpips, args.n)
    print(f"LPIPS v0.1 on {res['n']} held-out LFW photos: shipped model {res['mean_model']:.4f}, median fill "
          f"{res['mean_median_fill']:.4f}; model better on {res['model_better']} of {res['n']}")
    if args.out:
        from facehalluc.utils.provenance import git_state, library_versions, machine

        res = {"command": "python -m facehalluc.evaluate.heldout_photos " + " ".join(argv), "git": git_state(),
               "libraries": library_versions(), "machine": machine(),
               "date": time.strftime("%Y-%m-%d", time.gmtime()), **res}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in res.items())
                            + "\n}\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
