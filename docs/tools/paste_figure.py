"""docs/img/paste_back_before_after.png: the old 3-pixel linear paste-back ramp against the default blend.

    python docs/tools/paste_figure.py [--model default] [--lfw ../shared/data/lfw] [--out docs/img/paste_back_before_after.png]

Rows: skimage's astronaut and three LFW test-split people (identities no model was trained or chosen on);
each panel is the photo region around the crop, with ``facehalluc.infer.paste.seam_ratio`` in the title.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="default")
    ap.add_argument("--lfw", default="../shared/data/lfw")
    ap.add_argument("--out", default="docs/img/paste_back_before_after.png")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image
    from skimage import data
    from facehalluc.config import load_config
    from facehalluc.data.split import hash_unit
    from facehalluc.infer.engine import load_hallucinator
    from facehalluc.infer.paste import DEFAULT_FEATHER, invert_affine, paste_back, seam_ratio
    from facehalluc.infer.preprocessing import align_photo, make_preprocessor

    tmp = Path("/tmp/paste_figure_astronaut.png")
    Image.fromarray(data.astronaut()).save(tmp)
    people = sorted(p for p in Path(args.lfw).iterdir() if p.is_dir() and hash_unit(p.name) < 0.025)[:3]
    photos = [tmp] + [sorted(p.glob("*.jpg"))[0] for p in people]
    pre = make_preprocessor(load_config("shipped"))
    hall = load_hallucinator(args.model)
    fig, axes = plt.subplots(len(photos), 3, figsize=(9, 3 * len(photos)), squeeze=False)
    for r, path in enumerate(photos):
        f = align_photo(pre, path)
        crop = hall.run(f.masked[None], f.mask[None])["out_128"][0]
        old = paste_back(f.photo, crop, f.matrix, feather=3)
        new = paste_back(f.photo, crop, f.matrix, DEFAULT_FEATHER, mask=f.mask)
        xy = np.array([[-8, -8, 1], [136, -8, 1], [-8, 136, 1], [136, 136, 1]]) @ invert_affine(f.matrix).T
        h, w = f.photo.shape[:2]
        x0, y0 = (max(0, int(v)) for v in xy.min(0))
        x1, y1 = min(w, int(xy[:, 0].max())), min(h, int(xy[:, 1].max()))
        for c, (img, title) in enumerate(((f.photo, "photo"),
                                          (old, f"before: 3-px linear ramp (seam {seam_ratio(f.photo, old, f.matrix):.2f})"),
                                          (new, f"now: {DEFAULT_FEATHER:g}-px smoothstep, photo face "
                                                f"(seam {seam_ratio(f.photo, new, f.matrix):.2f})"))):
            axes[r, c].imshow(img[y0:y1, x0:x1])
            axes[r, c].set_title(title if r == 0 or c == 0 else title.split("(")[-1].rstrip(")"), fontsize=8)
            axes[r, c].axis("off")
        axes[r, 0].set_title(path.stem, fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
