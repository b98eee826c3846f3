"""``python -m facehalluc.evaluate.realism_floors``: the command line of
:mod:`facehalluc.evaluate.realism_floors` (see its docstring)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from facehalluc.evaluate import realism_floors as _lib
from facehalluc.evaluate.realism_floors import floors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.realism_floors", description=_lib.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="prepared dataset .h5")
    ap.add_argument("--split", default="val", choices=("train", "val", "test"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", required=True, help="result JSON")
    args = ap.parse_args(argv)
    from facehalluc.data import read_arrays
    from facehalluc.utils.atomic import atomic_write_text

    arr = read_arrays(args.data, args.split)
    n = len(arr.aligned) if args.limit is None else min(args.limit, len(arr.aligned))
    median = None
    try:
        from facehalluc.store.packed import read_train_median

        median = read_train_median()
    except Exception as e:  # noqa: BLE001 - the median row is optional
        print(f"realism_floors: no median fill row ({e})", file=sys.stderr)
    res = floors(arr.aligned[:n], arr.mask[:n], median)
    doc = {"data": str(args.data), "split": args.split, "n": n, "command": " ".join(["python -m",
           "facehalluc.evaluate.realism_floors", *(argv if argv is not None else sys.argv[1:])]), "rows": res}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(args.out), json.dumps(doc, indent=2) + "\n")
    for k, v in res.items():
        print(f"{k:16s} nss_fd {v['nss_fd']:8.2f}   contrast_ratio {v['contrast_ratio']:.3f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
