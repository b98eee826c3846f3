"""Moved to :mod:`facehalluc.nets.tflite_reader` (beside the network it reads); old import path."""
from ..nets.tflite_reader import *  # noqa: F401,F403
from ..nets.tflite_reader import Model, Operator, TFLiteFormatError, read_tflite  # noqa: F401
