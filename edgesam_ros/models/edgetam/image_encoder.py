"""EdgeTAM's image encoder: RepViT trunk, FPN neck, sine position encodings.

Upstream's ``ImageEncoder(scalp=1)`` with ``FpnNeck(fpn_top_down_levels=[2, 3], nearest)``:
one 1x1 lateral conv per trunk level; only the stride-16 level receives the top-down
(nearest x2) stride-32 map; the stride-32 output itself is dropped (``scalp``). The decoder's
high-resolution projections (``conv_s0``/``conv_s1``) are applied by :class:`..model.EdgeTam`
as upstream's ``forward_image`` does.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .config import EdgeTamConfig
from .position import sine_position_encoding
from .trunk import Trunk


class FpnNeck(nn.Module):
    """Lateral 1x1 convs (``convs.<i>.conv``, deepest level first) plus the top-down sum."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        self.d_model = cfg.hidden_dim
        self.convs = nn.ModuleList()
        for width in reversed(cfg.trunk_widths):
            lateral = nn.Sequential()
            lateral.add_module("conv", nn.Conv2d(width, cfg.hidden_dim, 1))
            self.convs.append(lateral)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Stride 4, 8, 16 maps (the stride-32 one only feeds the stride-16 level)."""
        deepest = self.convs[0](xs[3])
        s16 = self.convs[1](xs[2]) + F.interpolate(deepest, scale_factor=2.0, mode="nearest")
        return [self.convs[3](xs[0]), self.convs[2](xs[1]), s16]


class ImageEncoder(nn.Module):
    """Trunk + neck; returns the three FPN maps and the stride-16 position encoding."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        self.trunk = Trunk(cfg)
        self.neck = FpnNeck(cfg)

    def forward(self, image: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        feats = self.neck(self.trunk(image))
        top = feats[-1]
        pos = sine_position_encoding(top.shape[-2], top.shape[-1], top.shape[1], device=top.device)
        return feats, pos.unsqueeze(0).expand(top.shape[0], -1, -1, -1)
