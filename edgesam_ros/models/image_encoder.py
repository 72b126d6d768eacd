"""The EdgeSAM image encoder: RepViT features, fuse neck, SAM neck.

``forward`` gives the embedding; :meth:`ImageEncoder.forward_features` also returns the
stride 8/16/32 maps the RPN head consumes, so one backbone pass serves both.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import EdgeSamConfig
from .neck import ProjectUpsample, Upsample2x, sam_neck
from .repvit import build_features


class ImageEncoder(nn.Module):
    """Normalised, padded ``[B, 3, S, S]`` image to ``[B, embed_dim, S/16, S/16]``."""

    def __init__(self, cfg: EdgeSamConfig) -> None:
        super().__init__()
        self.img_size = cfg.image_size
        self.features, self.stage_ends = build_features(cfg)
        self.fuse_stage2 = nn.Conv2d(cfg.widths[2], cfg.embed_dim, 1, bias=False)
        self.fuse_stage3 = ProjectUpsample(cfg.widths[3], cfg.embed_dim, cfg.upsample_mode)
        self.neck = sam_neck(cfg.embed_dim, cfg.embed_dim)

    def set_upsample_mode(self, mode: str) -> None:
        """Switch the neck's x2 resize (``"bilinear"`` for runtimes without cubic resize)."""
        for m in self.modules():
            if isinstance(m, Upsample2x):
                m.mode = mode

    @property
    def upsample_mode(self) -> str:
        """The neck's x2 resize mode (``"bicubic"`` as the official weights were trained)."""
        return self.fuse_stage3.op_list[1].mode

    def forward_features(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Embedding plus the stride 8, 16 and 32 stage outputs."""
        stages = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.stage_ends:
                stages.append(x)
        _, s8, s16, s32 = stages
        fused = self.fuse_stage2(s16) + self.fuse_stage3(s32)
        return self.neck(fused), (s8, s16, s32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]
