"""``python -m facehalluc.app [--model default|RUN_DIR|SAVEDMODEL] [--host 127.0.0.1] [--port 7860] [--open]``

Loads the generator once, prints the page's URL and serves until Ctrl+C (see ``docs/app.md``).
Exit status: 0 after Ctrl+C, 2 when the model cannot be loaded or the address cannot be bound.
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import webbrowser

from ...infer.paste import DEFAULT_FEATHER
from ...utils.quiet import quiet_tensorflow

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facehalluc.app", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", help="'default' (the generator shipped in the package, "
                   "docs/model_card.md), a training run directory or an exported SavedModel directory")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                   "computer only; 0.0.0.0 lets anyone on the network use it)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860; 0 picks a free one)")
    p.add_argument("--open", action="store_true", help="open the page in the default web browser")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest accepted upload in MB (default 20)")
    p.add_argument("--feather", type=float, default=DEFAULT_FEATHER,
                   help=f"paste-back blend ramp in crop pixels (default {DEFAULT_FEATHER:g})")
    p.add_argument("--quiet", action="store_true", help="do not log every request")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_tensorflow()
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if args.max_upload_mb <= 0:
        print("facehalluc.app: --max-upload-mb must be positive", file=sys.stderr)
        return 2
    from ...infer.engine import ModelPathError, load_hallucinator
    from ...preprocess import LandmarkModelError
    from .server import make_server
    from .service import HallucinationService

    print(f"facehalluc.app: loading model {args.model!r} ...", flush=True)
    try:
        model = load_hallucinator(args.model)
        service = HallucinationService(model, feather=args.feather,
                                       max_upload_bytes=int(args.max_upload_mb * 1024 * 1024))
    except (ModelPathError, LandmarkModelError, OSError, RuntimeError, ValueError) as e:
        print(f"facehalluc.app: cannot load model {args.model!r}: {e}", file=sys.stderr)
        return 2
    try:
        server = make_server(service, args.host, args.port)
    except OSError as e:
        print(f"facehalluc.app: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    if args.host not in LOOPBACK:
        print(f"facehalluc.app: warning: listening on {args.host}: anyone who can reach this computer can "
              f"use the page", file=sys.stderr)
    print(f"facehalluc.app: serving {model.source} model {args.model!r} at {server.url} (Ctrl+C to stop)",
          flush=True)
    if args.open:
        threading.Timer(0.5, webbrowser.open, (server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nfacehalluc.app: stopped", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
