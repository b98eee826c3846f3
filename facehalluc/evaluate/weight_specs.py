"""Weight specs of the three evaluation networks, plugged into ``facehalluc.weights.registry``.

``facehalluc.weights.registry.registry_specs`` appends :func:`weight_specs`, so
``python -m facehalluc.weights convert fid_inception --src pt_inception-2015-12-05-6726825d.pth`` (etc.) runs the
converters defined in ``facehalluc/nets/{fid_inception,resnet50_vggface2,pieapp}.py``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from facehalluc.weights import SourceFile, WeightSpec

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
    from facehalluc.nets.fid_inception import convert_pytorch_fid

    convert_pytorch_fid(sources, output)


def _convert_resnet(sources: Sequence[Path], output: Path) -> None:
    from facehalluc.nets.resnet50_vggface2 import convert_caffemodel

    convert_caffemodel(sources, output)


def _convert_pieapp(sources: Sequence[Path], output: Path) -> None:
    from facehalluc.nets.pieapp import convert_pieapp

    convert_pieapp(sources, output)


def weight_specs() -> tuple[WeightSpec, ...]:
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
