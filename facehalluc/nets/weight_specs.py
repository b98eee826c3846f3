"""Weight specs of every frozen network of :mod:`facehalluc.nets`, registered with :mod:`facehalluc.weights`.

Each net's spec sits here beside the converter that its port defines (``lpips.py``, ``vggface.py``,
``dlib_resnet.py``, ``fid_inception.py``, ``resnet50_vggface2.py``, ``pieapp.py``); importing
:mod:`facehalluc.nets` registers them (:func:`facehalluc.weights.registry.register`), so
:mod:`facehalluc.weights` never imports a network.  The converters import their port on first use only
(deferred: the ports import Keras and the Caffe/PyTorch readers).  The spec tuples are built afresh on every
:func:`facehalluc.weights.registry.registry_specs` call (no module-level mutable spec objects).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

from ..weights import SourceFile, WeightSpec
from ..weights.registry import register

# ----------------------------------------------------------------- loss networks (lpips, vggface, dlib)
LPIPS_ALEXNET = SourceFile(
    filename="alexnet_features_torchvision.pth",
    url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    # the features-only extract used in CI, and torchvision's full file (hash prefix in its name)
    sha256=("04bbe45dd73d8208fc6d616293a1739e522db082ea4c3eba6c247b86a591e5c8", "7be5be79"),
    note="torchvision ImageNet AlexNet (full alexnet-owt-7be5be79.pth or features-only extract)",
)
LPIPS_V00 = SourceFile(
    filename="lpips_v0.0_alex.pth",
    url="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.0/alex.pth",
    sha256=("18720f55913d0af89042f13faa7e536a6ce1444a0914e6db9461355ece1e8cd5",),
    note="lpips/weights/v0.0/alex.pth of the official repository / PyPI lpips",
)
LPIPS_V01 = SourceFile(
    filename="lpips_v0.1_alex.pth",
    url="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
    sha256=("df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",),
    note="lpips/weights/v0.1/alex.pth of the official repository / PyPI lpips",
)
VGGFACE_H5 = SourceFile(
    filename="rcmalli_vggface_tf_vgg16.h5",
    url="https://github.com/rcmalli/keras-vggface/releases/download/v2.0/rcmalli_vggface_tf_vgg16.h5",
    sha256=(),
    note="Keras conversion of the official Caffe VGG-Face model (keras-vggface v2.0 release); "
         "the official MatConvNet vgg-face.mat (https://www.vlfeat.org/matconvnet/models/vgg-face.mat) "
         "is accepted as --src too",
)

DLIB_RESNET_DAT = SourceFile(
    filename="dlib_face_recognition_resnet_model_v1.dat",
    url=None,
    # the file of the pip package face-recognition-models 0.3.0 (22,466,066 bytes)
    sha256=("55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",),
    note="installed by the pip package face-recognition-models (face_recognition_models/models/; found "
         "without --src); also http://dlib.net/files/dlib_face_recognition_resnet_model_v1.dat.bz2 (bunzip2 it)",
    locate=lambda: _installed_dlib_dat(),
)

LPIPS_LICENCE = ("LPIPS lin layers: BSD-2-Clause (richzhang/PerceptualSimilarity); AlexNet: "
                 "torchvision BSD-3-Clause, trained on ImageNet (non-commercial research terms)")


def _convert_lpips(version: str, sources: Sequence[Path], output: Path) -> None:
    from .lpips import convert_lpips

    convert_lpips(version, sources, output)  # type: ignore[arg-type]


def _convert_vggface(sources: Sequence[Path], output: Path) -> None:
    from .vggface import convert_vggface

    convert_vggface(sources, output)


def _installed_dlib_dat() -> Path | None:
    from .dlib_resnet import installed_dat_path

    return installed_dat_path()


def _convert_dlib_resnet(sources: Sequence[Path], output: Path) -> None:
    from .dlib_resnet import convert_dlib_resnet

    convert_dlib_resnet(sources, output)


def _loss_specs() -> tuple[WeightSpec, ...]:
    return (
        WeightSpec(
            name="lpips_alex_v0.0",
            description="LPIPS v0.0, AlexNet backbone (the paper's L_pc)",
            sources=(LPIPS_ALEXNET, LPIPS_V00), licence=LPIPS_LICENCE,
            homepage="https://github.com/richzhang/PerceptualSimilarity",
            used_by="losses (L_pc, loss.lpips_version=0.0)",
            converter=functools.partial(_convert_lpips, "0.0")),
        WeightSpec(
            name="lpips_alex_v0.1",
            description="LPIPS v0.1, AlexNet backbone (current default of the lpips package)",
            sources=(LPIPS_ALEXNET, LPIPS_V01), licence=LPIPS_LICENCE,
            homepage="https://github.com/richzhang/PerceptualSimilarity",
            used_by="losses (L_pc, loss.lpips_version=0.1)",
            converter=functools.partial(_convert_lpips, "0.1")),
        WeightSpec(
            name="vggface",
            description="VGG-Face (Parkhi et al. 2015) VGG-16 to fc7 (the paper's L_id)",
            sources=(VGGFACE_H5,),
            licence="VGG-Face model: CC BY-NC 4.0 (Oxford VGG), non-commercial research only; "
                    "keras-vggface conversion code: MIT",
            homepage="https://www.robots.ox.ac.uk/~vgg/software/vgg_face/",
            used_by="losses (L_id)",
            converter=_convert_vggface),
        WeightSpec(
            name="dlib_resnet",
            description="dlib face-recognition ResNet v1, 128-D embedding (loss.id_net=dlib_resnet; "
                        "evaluation proxy dlib_identity)",
            sources=(DLIB_RESNET_DAT,),
            licence="dlib-models: released into the public domain by Davis King; trained on FaceScrub, "
                    "the VGG face dataset and scraped images (no LFW identities)",
            homepage="https://github.com/davisking/dlib-models",
            used_by="losses (L_id, loss.id_net=dlib_resnet); evaluation (dlib_identity proxy)",
            converter=_convert_dlib_resnet,
            notes=("converted automatically into the cache on first use when face-recognition-models "
                   "is installed",)),
    )



# ------------------------------------------------- evaluation networks (resnet50 vggface2, fid, pieapp)
FID_SOURCE = SourceFile(
    filename="pt_inception-2015-12-05-6726825d.pth",
    url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    sha256=("6726825d",),  # pytorch-fid names the file with the first 8 hex digits of its sha256
    note="pytorch-fid's port of the TF inception-2015-12-05 graph used by the original FID code",
)
RESNET_SOURCE = SourceFile(
    filename="resnet50_256.caffemodel",
    url=None,
    sha256=(),
    note="from resnet50_256_caffe.tar.gz of the Oxford VGGFace2 release "
         "(https://github.com/ox-vgg/vgg_face2, models page; obtain by hand, research licence)",
)
PIEAPP_SOURCE = SourceFile(
    filename="PieAPPv0.1.pth",
    # the location the authors' scripts/download_PieAPPv0.1_PT_weights.sh uses (fetched only on request)
    url="https://web.ece.ucsb.edu/~ekta/projects/PieAPPv0.1/weights/PieAPPv0.1.pth",
    sha256=(),
    note="PyTorch model of the PieAPP authors (https://github.com/prashnani/PerceptualImageError)",
)


def _convert_fid(sources: Sequence[Path], output: Path) -> None:
    from .fid_inception import convert_pytorch_fid

    convert_pytorch_fid(sources, output)


def _convert_resnet(sources: Sequence[Path], output: Path) -> None:
    from .resnet50_vggface2 import convert_caffemodel

    convert_caffemodel(sources, output)


def _convert_pieapp(sources: Sequence[Path], output: Path) -> None:
    from .pieapp import convert_pieapp

    convert_pieapp(sources, output)


def evaluation_specs() -> tuple[WeightSpec, ...]:
    """The three evaluation networks (converters only where their port exists)."""
    return (
        WeightSpec(
            name="resnet50_256d_vggface2",
            description="ResNet-50-256D trained on VGGFace2, 256-D feat_extract descriptor (mean match score)",
            sources=(RESNET_SOURCE,),
            licence="VGGFace2 models: CC BY-NC 4.0 (Oxford VGG), non-commercial research only",
            homepage="https://github.com/ox-vgg/vgg_face2", used_by="evaluation (mean match score, Eq. 7)",
            converter=_convert_resnet),
        WeightSpec(
            name="fid_inception",
            description="Inception-v3 pool3 features of the TF FID implementation (FID)",
            sources=(FID_SOURCE,),
            licence="Apache-2.0 (TensorFlow models; pytorch-fid port)",
            homepage="https://github.com/mseitzer/pytorch-fid", used_by="evaluation (FID)",
            converter=_convert_fid),
        WeightSpec(
            name="pieapp_v0.1",
            description="PieAPP v0.1 perceptual error (mean perceptual error)",
            sources=(PIEAPP_SOURCE,),
            licence="PieAPP: see https://github.com/prashnani/PerceptualImageError (research use)",
            homepage="https://github.com/prashnani/PerceptualImageError",
            used_by="evaluation (mean perceptual error)",
            converter=_convert_pieapp),
    )


register(_loss_specs)
register(evaluation_specs)
