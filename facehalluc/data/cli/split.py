"""``python -m facehalluc.data.split``: the command line of :mod:`facehalluc.data.split` (see its docstring)."""
from __future__ import annotations

import argparse
import sys

from ..split import DEFAULT_TEST_SHARE, add_test_split


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m facehalluc.data.split",
                                 description="Add the test split to a prepared dataset file (in place).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("add-test", help="divide the held-out identities into val and test; train unchanged")
    a.add_argument("file")
    a.add_argument("--test-share", type=float, default=DEFAULT_TEST_SHARE,
                   help=f"share of the held-out (val) identities that goes to test (default {DEFAULT_TEST_SHARE})")
    args = ap.parse_args(argv)
    try:
        counts = add_test_split(args.file, args.test_share)
    except (OSError, ValueError) as e:
        print(f"facehalluc.data.split: error: {e}", file=sys.stderr)
        return 2
    print(f"{args.file}: {counts['train']} train / {counts['val']} val / {counts['test']} test faces")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
