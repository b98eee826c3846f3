"""Add what made an ``evaluate.py`` result JSON (or any JSON object) to the file itself, before it is committed.

    python docs/tools/stamp_result.py FILE.json [FILE.json ...] --command "python -m ..." [--command ...] \
        [--commit SHA] [--note TEXT]

``evaluate.py`` records its settings and a timestamp but not the command line, the code version or the
machine. This writes them under a top-level ``"provenance"`` key (``evaluate.py``'s reader ignores unknown
keys): the commands in the order they ran (e.g. the baselines fill, then the scoring), the git commit of the
code that ran them (default: this checkout's HEAD; pass ``--commit`` when the result was made at an earlier
commit), library versions, machine and date. A file that already has a ``"provenance"`` key is refused.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--command", action="append", required=True, help="a command that made the file (repeat, in order)")
    ap.add_argument("--commit", help="git commit of the code that ran (default: HEAD of this checkout)")
    ap.add_argument("--note", help="free text (e.g. the load on the machine)")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from facehalluc.utils.provenance import git_state, library_versions, machine

    git = {"commit": args.commit, "dirty": False} if args.commit else git_state(ROOT)
    for f in args.files:
        obj = json.loads(f.read_text())
        if "provenance" in obj:
            print(f"{f}: already has a provenance key, left as it is", file=sys.stderr)
            return 1
        obj["provenance"] = {"commands": args.command, "git": git, "libraries": library_versions(),
                             "machine": machine(), "date": time.strftime("%Y-%m-%d", time.gmtime()),
                             **({"note": args.note} if args.note else {})}
        f.write_text(json.dumps(obj, indent=2) + "\n")
        print(f"stamped {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
