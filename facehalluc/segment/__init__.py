"""Person segmentation for background replacement (supplementary §4).

:mod:`.person` -- the default: MediaPipe's selfie-segmentation network (ported to Keras,
:mod:`facehalluc.nets.selfie_segmentation`) refined by the saliency contour, face hull added.
:mod:`.foreground` -- the shared pieces (saliency region, hole filling) and the GrabCut fallback.
:mod:`.tflite_reader` -- the pure-Python TFLite flatbuffer reader the port is built with.
"""
