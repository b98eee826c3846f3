#!/usr/bin/env python
"""Makes docs/img/background_replacement.png: input | foreground mask | new background (suppl. Fig. 3).

    python benchmarks/background_figure.py [--src ../shared/data/lfw] [--n 6] [--model RUN_DIR|SAVEDMODEL]
                                           [--method selfie|grabcut]
                                           [--out docs/img/background_replacement.png]

Faces: ``--n`` LFW photos evenly spaced through the sorted folder, through the package's
preprocessing (``FacePreprocessor``, ``paper`` settings).  Without ``--model`` the aligned 128x128
crop stands in for a hallucinated image (its face mask is the landmark hull); with ``--model`` the
generator's output for the masked face is used.  Backgrounds: images bundled with scikit-image
(coffee, chelsea, rocket, grass, brick, astronaut's neighbour ``motorcycle_left``), used in turn.
Prints the per-image CPU time of the foreground estimate and of the blend.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
REPO = Path(__file__).resolve().parent.parent
BACKGROUNDS = ("coffee.png", "rocket.jpg", "chelsea.png", "motorcycle_left.png", "grass.png", "brick.png")


def main() -> int:
    from facehalluc.apps.background import estimate_foreground, replace_background
    from facehalluc.segment.person import segment_foreground
    from facehalluc.config import load_config
    from facehalluc.data.prepare import discover
    from facehalluc.preprocess import FacePreprocessor, NoFaceError
    from facehalluc.utils.image import contact_sheet, read_image, to_float, to_uint8, write_image

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", default=str(REPO.parent / "shared" / "data" / "lfw"))
    p.add_argument("--n", type=int, default=6)
    p.add_argument("--model", help="run directory or SavedModel: use its hallucinations as inputs")
    p.add_argument("--method", choices=("selfie", "grabcut"), default="selfie",
                   help="person segmenter (facehalluc.background --method); selfie is the default")
    p.add_argument("--out", default=str(REPO / "docs" / "img" / "background_replacement.png"))
    args = p.parse_args()
    import skimage

    data = Path(skimage.__file__).resolve().parent / "data"
    bgs = [read_image(data / n) for n in BACKGROUNDS if (data / n).is_file()]
    files = discover(args.src)
    pre = FacePreprocessor(load_config("paper").preprocess)
    model = None
    if args.model:
        from facehalluc.infer import load_hallucinator

        model = load_hallucinator(args.model)
    rows, row = [], []
    t_fg = t_blend = 0.0
    k = 0
    for i in np.linspace(0, len(files) - 1, args.n * 3).astype(int):
        if k >= args.n:
            break
        try:
            s = pre.process(Path(args.src) / files[i].rel)
        except NoFaceError:
            continue
        img = s.aligned
        if model is not None:
            out = model.run(to_float(s.masked[None]), s.mask[None].astype(np.float32))
            img = to_uint8(out[f"out_{model.resolution}"][0])
        t = time.process_time()
        fg = (segment_foreground(img, s.mask > 0) if args.method == "selfie"
              else estimate_foreground(img, s.mask > 0))
        t_fg += time.process_time() - t
        t = time.process_time()
        res = replace_background(img, bgs[k % len(bgs)], s.mask, foreground=fg.mask)
        t_blend += time.process_time() - t
        row += [img, np.repeat(fg.mask[..., None].astype(np.uint8) * 255, 3, axis=2), res.image]
        k += 1
        if len(row) == 6:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    first = "hallucinated" if model is not None else "aligned crop"
    labels = [first, "foreground", "new background"] * 2
    write_image(args.out, contact_sheet(rows, labels))
    print(f"{args.out}: {k} faces ({first}); CPU per image: foreground {1000 * t_fg / max(k, 1):.0f} ms, "
          f"blend {1000 * t_blend / max(k, 1):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
