"""``python -m facehalluc.background`` / ``python -m facehalluc.apps.background``: the command line of
:mod:`facehalluc.apps.background` (see its docstring)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __doc__ as BACKGROUND_DOC
from .batch import REPORT_NAME, run
from .blend import DEFAULT_COARSEST_SIDE, MIN_LEVEL_SIDE
from .replace import METHODS
from ...segment.foreground import BackgroundError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facehalluc.background", description=BACKGROUND_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", nargs="+", required=True, metavar="IMG|DIR",
                   help="images (e.g. infer.py outputs) and/or folders (recursive; *_masked, *_block*, "
                        "*_pasted, contact_sheet* files of a folder are skipped)")
    p.add_argument("--background", required=True, metavar="BG|DIR",
                   help="background image, or a folder of them (used in turn); any size (cover + centre crop)")
    p.add_argument("--output", required=True, metavar="DIR")
    p.add_argument("--foreground", metavar="FILE|DIR", help="foreground masks from your own segmenter "
                   "(non-zero = person): a file for one input, or a folder with <stem>.png or "
                   "<stem>_foreground.png; replaces the --method person segmenter")
    p.add_argument("--method", choices=METHODS, default=METHODS[0],
                   help="person segmenter, refined by the saliency contour: selfie = MediaPipe's selfie "
                        "segmentation network ported to Keras (default); grabcut = OpenCV GrabCut seeded by "
                        "the face (the fallback)")
    p.add_argument("--face-mask", metavar="FILE|DIR", help="face masks (binary, or masked faces: any channel "
                   "> 0 = face) for one input, or a folder with <stem>_masked.png or <stem>.png; default: "
                   "<stem>_masked.png beside the input if present, else dlib face detection")
    p.add_argument("--levels", type=int, help="Laplacian pyramid levels (default: coarsest level >= "
                   f"{DEFAULT_COARSEST_SIDE} px, i.e. 3 at 128x128; 1 = plain compositing; capped so the "
                   f"coarsest level keeps >= {MIN_LEVEL_SIDE} px)")
    p.add_argument("--mask-out", action="store_true", help="also write <stem>_foreground.png (0/255)")
    p.add_argument("--no-keep-face", action="store_true", help="do not restore the face-mask pixels "
                   "exactly after blending")
    p.add_argument("--seed", type=int, default=0, help="OpenCV RNG seed for --method grabcut")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.levels is not None and args.levels < 1:
        print(f"background: --levels must be >= 1, got {args.levels}", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        report = run(args.input, args.background, args.output, foreground=args.foreground,
                     face_mask=args.face_mask, levels=args.levels, mask_out=args.mask_out, seed=args.seed,
                     keep_face=not args.no_keep_face, method=args.method, log=log)
    except BackgroundError as e:
        print(f"background: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"report: {Path(args.output) / REPORT_NAME}")
    return 0 if report.processed else 1


if __name__ == "__main__":
    sys.exit(main())
