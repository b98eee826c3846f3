"""Paste-back leaves no seam: the step along the crop's outline is the photo's own (issue 22)."""
from __future__ import annotations

import numpy as np


def test_default_paste_back_has_no_seam_and_keeps_the_photo_face(tmp_path):
    import cv2
    from PIL import Image
    from skimage import data

    from facehalluc.config import load_config
    from facehalluc.infer.engine import load_hallucinator
    from facehalluc.infer.paste import DEFAULT_FEATHER, paste_back, seam_ratio
    from facehalluc.infer.preprocessing import align_photo, make_preprocessor

    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.png")
    f = align_photo(make_preprocessor(load_config("shipped")), tmp_path / "astronaut.png")
    crop = load_hallucinator("default").run(f.masked[None], f.mask[None])["out_128"][0]
    hard = seam_ratio(f.photo, paste_back(f.photo, crop, f.matrix, feather=0), f.matrix)
    old = seam_ratio(f.photo, paste_back(f.photo, crop, f.matrix, feather=3), f.matrix)
    new = paste_back(f.photo, crop, f.matrix, DEFAULT_FEATHER, mask=f.mask)
    # measured with the shipped model: hard paste 2.55, the old 3-pixel linear ramp 1.52, the default 1.007;
    # on eight LFW photos the default stayed <= 1.017 while the old ramp gave 1.23-1.67.  The measure can fail:
    assert hard > 1.5 and old > 1.3
    assert seam_ratio(f.photo, new, f.matrix) < 1.05
    # photo pixels whose whole bilinear footprint is on the face keep their own values, bit for bit
    face = cv2.warpAffine(f.mask.astype(np.float32), f.matrix, f.photo.shape[1::-1],
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    inner = cv2.erode((face >= 1.0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert inner.sum() > 1000
    np.testing.assert_array_equal(new[inner], f.photo[inner])
