"""Background replacement (supplementary §4, Fig. 3): keep the face and the context, swap the background.

    python -m facehalluc.background --input out/ --background beach.jpg --output swapped/ --mask-out
    python -m facehalluc.background --input img.png --face-mask img_masked.png --background bgs/ --output o/
    python -m facehalluc.background --input imgs/ --foreground my_masks/ --background bgs/ --output o/

The paper: *"We first locate the pixels outside the background (context + face mask) using the
segmentation network from [21, 20, 18]. The pixels with the label 'Person' are kept inside the mask,
which is further refined by a saliency map. This saliency map is computed using the gradient of each
pixel of the image and the outer contour detected as the salient edge. The union of the initial mask
and the points inside this contour produces the final foreground mask. [...] The new background image
is then blended in with the help of this foreground mask using a Laplacian pyramid based blending."*

Here (see docs/faithfulness.md, "Background replacement"):

1. **Face mask** (sure foreground): given (``face_mask``; ``--face-mask`` binary masks or the
   package's masked faces, read with the "any channel > 0" rule of
   :func:`facehalluc.models.mask_from_masked`), found automatically next to a package output
   (``<stem>_masked.png`` written by ``infer.py --save-stages``), or the convex hull of the 68 dlib
   landmarks when a face is detected (:class:`facehalluc.preprocess.FacePreprocessor`).
2. **Person segmentation** (``method``, ``--method``): ``selfie`` (default) -- MediaPipe's selfie
   segmentation network (Apache-2.0), ported to Keras from its official .tflite file shipped in the
   package (:mod:`facehalluc.nets.selfie_segmentation`, :mod:`facehalluc.segment.person`), person =
   probability >= 0.5.  ``grabcut`` -- the fallback: OpenCV's GrabCut seeded by the face mask (sure
   foreground), a head/neck/shoulder region placed from the face box and the saliency region
   (probable foreground) (:mod:`facehalluc.segment.foreground`).  A user-supplied foreground mask
   (``foreground`` / ``--foreground``, from any segmenter or matting network) replaces steps 2-3
   (the face mask is still added to it).
3. **Saliency**: gradient magnitude of the grey image, thresholded (Otsu), closed, and the filled
   outer contour of the salient edges that touches the face; the final foreground is the union of the
   person mask and that region near the person (the region is dropped when it is implausibly large,
   i.e. the background itself is textured), restricted to the part connected to the face, holes
   filled, the face mask added (it always lies inside the foreground).
4. **Blending**: Burt & Adelson Laplacian-pyramid blending (:func:`laplacian_blend`) with ``levels``
   pyramid levels (default :func:`default_levels`: 3 at 128x128), the background resized to cover the image and
   centre-cropped; finally the face-mask pixels are restored bit-exactly (the package's invariant
   that output face pixels equal the input's).
"""
from ...segment.foreground import (GRABCUT_ITERATIONS, MAX_SALIENCY_FRACTION, BackgroundError,  # noqa: F401
                                   Foreground, detect_face_mask, estimate_foreground, fill_holes, person_prior,
                                   refine, saliency_region, user_foreground)
from .batch import REPORT_NAME, BackgroundReport, is_auxiliary, list_images, run  # noqa: F401
from .blend import (DEFAULT_COARSEST_SIDE, MIN_LEVEL_SIDE, collapse, default_levels, fit_background,  # noqa: F401
                    gaussian_pyramid, laplacian_blend, laplacian_pyramid, max_levels)
from .replace import METHODS, Replaced, mask_from_masked, replace_background  # noqa: F401
