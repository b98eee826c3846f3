"""Person foreground from MediaPipe's selfie-segmentation network, refined by the saliency contour.

The supplementary §4: *"The pixels with the label 'Person' are kept inside the mask, which is
further refined by a saliency map [...] The union of the initial mask and the points inside this
contour produces the final foreground mask."*  Here the person label comes from the selfie
segmenter (:func:`person_probability`, the MediaPipe runtime's own pre- and post-processing), is
thresholded at :data:`PERSON_THRESHOLD`, and :func:`facehalluc.segment.foreground.refine` adds the
saliency contour near the person, keeps the part connected to the face, fills holes and adds the
face hull (so the face hull always lies inside the final mask).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..utils.image import to_float
from .foreground import Foreground, checked_inputs, refine, saliency_region

_SUBPIXELS = 32  # OpenCV's INTER_TAB_SIZE: source positions in 1/32 pixel
_COEF_BITS = 15  # OpenCV's INTER_REMAP_COEF_BITS: bilinear weights in 1/32768
_COEF_SCALE = 1 << _COEF_BITS
PERSON_THRESHOLD = 0.5  # probability >= this = person (the network's sigmoid output; MediaPipe's demos use 0.5)


def _taps(n_dst: int, n_src: int) -> tuple[np.ndarray, np.ndarray]:
    """Source pixel and 1/32-pixel fraction of each destination pixel for a corner-to-corner map
    (``x_src = x_dst * n_src / n_dst``), rounded to nearest (ties to even) as OpenCV's warps do."""
    pos = np.rint(np.arange(n_dst, dtype=np.float64) * (n_src / n_dst) * _SUBPIXELS).astype(np.int64)
    return pos // _SUBPIXELS, pos % _SUBPIXELS


def model_input(image: np.ndarray, size: tuple[int, int] = (256, 256)) -> np.ndarray:
    """The network input for an RGB uint8 image, as MediaPipe's CPU ``ImageToTensorCalculator`` makes
    it for the whole image without keeping the aspect ratio: OpenCV 4's ``warpPerspective`` (bilinear,
    zero border, uint8) mapping the image corners onto the tensor corners, then scaled to [0, 1].

    The warp is re-implemented here in integer arithmetic (source positions in 1/32 pixel, 15-bit
    bilinear weights, rounding like OpenCV 4.x's fixed-point remap) because OpenCV 5 rounds ties
    differently (up to 6 grey levels apart, enough to move the mask by up to 0.17 near the outline);
    the result equals OpenCV 4.11's bit for bit on LFW photos (tests/nets/test_selfie_segmentation.py) and
    does not depend on the CPU.  Returns (height, width, 3) float32."""
    img = np.ascontiguousarray(image)
    h, w = img.shape[:2]
    th, tw = size
    if (h, w) == (th, tw):
        warped = img
    else:
        y0, fy = _taps(th, h)
        x0, fx = _taps(tw, w)
        src = np.zeros((h + 1, w + 1, img.shape[2]), np.int64)  # zero border for the right/bottom taps
        src[:h, :w] = img
        wy, wx = fy[:, None] / _SUBPIXELS, fx[None, :] / _SUBPIXELS
        w00 = np.rint((1 - wy) * (1 - wx) * _COEF_SCALE).astype(np.int64)
        w01 = np.rint((1 - wy) * wx * _COEF_SCALE).astype(np.int64)
        w10 = np.rint(wy * (1 - wx) * _COEF_SCALE).astype(np.int64)
        w11 = _COEF_SCALE - w00 - w01 - w10
        rows0, rows1 = src[np.minimum(y0, h)], src[np.minimum(y0 + 1, h)]
        x1 = np.minimum(x0 + 1, w)
        acc = (rows0[:, x0] * w00[..., None] + rows0[:, x1] * w01[..., None]
               + rows1[:, x0] * w10[..., None] + rows1[:, x1] * w11[..., None])
        warped = np.clip((acc + _COEF_SCALE // 2) >> _COEF_BITS, 0, 255).astype(np.uint8)
    return to_float(warped)


def person_probability(image: np.ndarray, net=None) -> np.ndarray:
    """(H, W) float32 person probability of an RGB uint8 image: the network on :func:`model_input`,
    its 256x256 output resized to the image with bilinear interpolation (MediaPipe's CPU
    ``TensorsToSegmentationCalculator``, no activation)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    if net is None:
        from ..nets.selfie_segmentation import selfie_segmentation

        net = selfie_segmentation()
    th, tw = net.input_shape[1:3]
    x = model_input(image, (th, tw))[None]
    prob = np.asarray(net(x, training=False))[0, :, :, 0].astype(np.float32)
    h, w = image.shape[:2]
    if (h, w) != prob.shape:
        prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
    return prob


def segment_foreground(image: np.ndarray, face_mask: np.ndarray, net=None,
                       threshold: float = PERSON_THRESHOLD) -> Foreground:
    """Foreground of an RGB uint8 image: selfie-segmentation person mask (probability >=
    ``threshold``) ∪ the face mask, refined by the saliency contour (:func:`refine`)."""
    image, face = checked_inputs(image, face_mask)
    prob = person_probability(image, net)
    person = prob >= threshold
    notes = []
    if not (person & face).any():
        notes.append("the person segmenter found no person at the face: face hull and saliency only")
    sal, _ = saliency_region(image, face)
    fg, used, more = refine(person, sal, face)
    return Foreground(fg, face, "selfie+saliency", person, sal, used, notes + more, probability=prob)
