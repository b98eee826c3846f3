#!/usr/bin/env python
"""Preview the preprocessing of a few photos: a grid of original | aligned | masked.

    python data/preview.py --out docs/img/preprocess_grid.png photo1.jpg photo2.jpg ...
    python data/preview.py --out grid.png --src ../shared/data/lfw --count 8 [overrides]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from facehalluc.config import load_config
    from facehalluc.data.prepare import discover
    from facehalluc.preprocess import FacePreprocessor
    from facehalluc.preprocess.preview import save_preview

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--src", help="folder to sample photos from (evenly spaced in sorted order)")
    p.add_argument("--count", type=int, default=8, help="photos taken from --src")
    p.add_argument("--columns", type=int, default=2)
    p.add_argument("--config", default="paper")
    p.add_argument("items", nargs="*", help="photo files and/or section.field=value overrides")
    args = p.parse_args()
    overrides = [x for x in args.items if "=" in x and not Path(x).exists()]
    photos = [Path(x) for x in args.items if x not in overrides]
    if args.src:
        files = discover(args.src)
        step = max(1, len(files) // max(1, args.count))
        photos += [Path(args.src) / f.rel for f in files[::step][: args.count]]
    if not photos:
        p.error("give photo files or --src")
    cfg = load_config(args.config, overrides)
    out = save_preview(FacePreprocessor(cfg.preprocess), photos, args.out, args.columns)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
