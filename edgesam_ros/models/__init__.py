"""PyTorch EdgeSAM (RepViT encoder, SAM prompt encoder and decoder, RPN head) for training
and export; the runtime never imports this package."""

from .checkpoint import CheckpointError, load_checkpoint
from .config import VARIANTS, EdgeSamConfig, get_config
from .edge_sam import EdgeSam, build_model

__all__ = ["VARIANTS", "CheckpointError", "EdgeSam", "EdgeSamConfig", "build_model",
           "get_config", "load_checkpoint"]
