"""``python -m facehalluc.evaluate.table``: the command line of
:mod:`facehalluc.evaluate.table` (see its docstring)."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from facehalluc.evaluate import table as _lib
from facehalluc.evaluate.table import CPU_LAYOUT, LAYOUTS, ResultFileError, write_table


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.evaluate.table", description=_lib.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="result JSON files written by evaluate.py (--layout cpu: also "
                                               "folders of them and *_per_image.csv files)")
    ap.add_argument("--layout", choices=sorted([*LAYOUTS, CPU_LAYOUT]), default="table1",
                    help="table1, table6 (beside the paper's numbers) or cpu ('Table 1 at CPU scale')")
    ap.add_argument("--out", default="tables", help="output folder (default: tables)")
    ap.add_argument("--no-plot", action="store_true", help="skip the bar chart")
    args = ap.parse_args(argv)
    try:
        written = write_table(args.results, args.layout, args.out, plot=not args.no_plot)
    except (ResultFileError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(written["md"].read_text())
    for kind, p in written.items():
        print(f"wrote {kind}: {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
