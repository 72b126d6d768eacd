"""PyTorch EdgeTAM (facebookresearch/EdgeTAM, Apache-2.0) for export; never imported at run
time. See :mod:`.model` for how the network is cut into the four exported functions."""

from .config import VARIANTS, EdgeTamConfig, get_config
from .model import EdgeTam, build_edgetam, load_edgetam

__all__ = ["VARIANTS", "EdgeTam", "EdgeTamConfig", "build_edgetam", "get_config",
           "load_edgetam"]
