"""Networks: generator blocks (suppl. Tables 1–5), upscalers, the cascade and the discriminators."""
from .discriminator import build_discriminator
from .flops import layer_flops, model_flops
from .generator import (block_name, build_cascade, build_generator_block, build_inference_model,
                        build_upscaler, cascade_input_names, cascade_inputs_from_128, image_pyramid,
                        mask_from_masked, noise_shapes, resize_bilinear)
from .layers import FaceComposite, PixelShuffle, from_tanh_range, to_tanh_range
from .tables import CASIA_CONVS, GENERATOR_TABLES

__all__ = [
    "build_discriminator", "build_cascade", "build_generator_block", "build_inference_model",
    "build_upscaler", "block_name", "cascade_input_names", "cascade_inputs_from_128", "image_pyramid",
    "mask_from_masked", "noise_shapes", "resize_bilinear", "FaceComposite", "PixelShuffle", "from_tanh_range",
    "to_tanh_range", "layer_flops", "model_flops", "CASIA_CONVS", "GENERATOR_TABLES",
]
