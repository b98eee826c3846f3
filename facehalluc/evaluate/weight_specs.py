"""Moved to :mod:`facehalluc.nets.weight_specs` (each frozen net's spec beside its port); old import path."""
from facehalluc.nets.weight_specs import FID_SOURCE, PIEAPP_SOURCE, RESNET_SOURCE  # noqa: F401
from facehalluc.nets.weight_specs import evaluation_specs as weight_specs  # noqa: F401
