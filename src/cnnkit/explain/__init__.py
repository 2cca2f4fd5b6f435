"""Look inside a CNN: filters, feature maps, Grad-CAM and saliency, the convolution
playground and the parameter comparison with a dense network.

Every function returns NumPy arrays, text or matplotlib figures; ``cnnkit explain`` writes
them as PNG files. See docs/explain.md for how to read each picture.
"""

from .arithmetic import MODE_TEXT, conv_pixel_arithmetic, pool_pixel_arithmetic, size_arithmetic
from .features import feature_figures, feature_layer_names, feature_maps
from .figures import Panel, panels, save_figure, save_image, tile_grid, to_uint8
from .filters import conv_layer, conv_layer_names, filter_figures, filter_weights
from .gradcam import GradCam, default_layer, gradcam, gradcam_figure, gradcam_overlay, overlay
from .images import read_image
from .kernels import KERNELS, parse_kernel
from .params import ParamRow, compare_params, dense_params, params_table
from .playground import convolve, pool
from .walkthrough import Walkthrough, walkthrough

__all__ = [
    "KERNELS", "MODE_TEXT", "GradCam", "Panel", "ParamRow", "Walkthrough", "compare_params",
    "conv_layer", "conv_layer_names", "conv_pixel_arithmetic", "convolve", "default_layer",
    "dense_params", "feature_figures", "feature_layer_names", "feature_maps",
    "filter_figures", "filter_weights", "gradcam", "gradcam_figure", "gradcam_overlay",
    "overlay", "panels", "params_table", "parse_kernel", "pool", "pool_pixel_arithmetic",
    "read_image", "save_figure", "save_image", "size_arithmetic", "tile_grid", "to_uint8",
    "walkthrough",
]
