"""docs/img/background_segmenter_before_after.png: GrabCut (before) against the selfie segmenter (after).

    python docs/tools/segmenter_figure.py [--lfw ../shared/data/lfw] [--h5 work_data/lfw.h5]
                                          [--out docs/img/background_segmenter_before_after.png]

Rows: held-out LFW photos (identities of the test split of ``--h5``; the tool refuses others) showing
the two documented GrabCut failures: a dark suit on a dark background (the shoulders are lost) and a
background the colour of the hair (it is kept; in the last row the network
keeps some of it too).  Columns: the photo; for each method the foreground
mask (background dimmed, outline in red) and the photo on a new, light background.  The face mask is
the landmark hull (dlib), as for any photo without a package face mask.  Titles give the share of the
image that is foreground.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

PHOTOS = (("Gerhard_Schmid/Gerhard_Schmid_0001.jpg", "dark suit, dark background"),
          ("Boris_Yeltsin/Boris_Yeltsin_0001.jpg", "dark suit, dark background"),
          ("Ismail_Abu_Shanab/Ismail_Abu_Shanab_0001.jpg", "background the colour of the hair"),
          ("Katrin_Cartlidge/Katrin_Cartlidge_0001.jpg", "dark hair, dark background"))


def light_background(h: int, w: int) -> np.ndarray:
    """A pale blue-to-white vertical gradient: every pixel of old background left in shows."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    top, bottom = np.float32([150, 200, 245]), np.float32([245, 250, 255])
    return np.broadcast_to(top + t * (bottom - top), (h, w, 3)).round().astype(np.uint8)


def overlay(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import cv2

    out = (img.astype(np.float32) * np.where(mask, 1.0, 0.3)[..., None]).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (255, 40, 40), 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", default="../shared/data/lfw")
    ap.add_argument("--h5", default="work_data/lfw.h5")
    ap.add_argument("--out", default="docs/img/background_segmenter_before_after.png")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from facehalluc.apps.background import detect_face_mask, replace_background
    from facehalluc.data.split import identity_lists

    test_ids = set(identity_lists(args.h5).get("test", []))
    fig, axes = plt.subplots(len(PHOTOS), 5, figsize=(12.5, 2.75 * len(PHOTOS)))
    for row, (rel, case) in zip(axes, PHOTOS):
        if rel.split("/")[0] not in test_ids:
            raise SystemExit(f"{rel}: not a test-split identity of {args.h5}")
        img = np.asarray(Image.open(Path(args.lfw) / rel).convert("RGB"))
        face = detect_face_mask(img)
        bg = light_background(*img.shape[:2])
        cells = [(img, f"{rel.split('/')[1]}\n{case}")]
        for method, label in (("grabcut", "GrabCut (before)"), ("selfie", "selfie segmenter (after)")):
            res = replace_background(img, bg, face, method=method)
            m = res.foreground.mask
            cells += [(overlay(img, m), f"{label}: mask, {100 * m.mean():.0f}%"), (res.image, f"{label}: new background")]
        for ax, (a, title) in zip(row, cells):
            ax.imshow(a)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=64)
    with Image.open(args.out) as im:  # 256-colour palette: a third of the size, no visible change
        im.convert("RGB").quantize(256).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
