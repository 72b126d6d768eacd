"""RepViT-M1 in timm's ``repvit_m1`` layout (``features_only``), EdgeTAM's image trunk.

EdgeTAM builds its trunk with ``timm.create_model("repvit_m1.dist_in1k", features_only=True)``,
so its checkpoint names follow timm (``body.stem.conv1.c.weight``,
``body.stages_2.downsample.pre_block...``, ``body.stages_2.blocks.13...``), not EdgeSAM's flat
``features.<i>`` list. The arithmetic is the same RepViT, so the conv+BN, RepVGG depthwise and
squeeze-excite pieces are EdgeSAM's (:mod:`..repvit`), and :func:`..repvit.reparameterize`
folds this trunk for export too. timm's ``legacy=True`` (what ``repvit_m1`` uses) keeps a BN on
the 1x1 depthwise branch and no BN after the sum, exactly :class:`..repvit.RepVGGDW`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..repvit import ConvBN, RepVGGDW, SqueezeExcite
from .config import EdgeTamConfig


class ConvMlp(nn.Module):
    """Pointwise FFN (timm ``RepVitMlp``): 1x1 conv+BN, GELU, 1x1 conv+BN (zero-init BN)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.conv1 = ConvBN(dim, hidden)
        self.act = nn.GELU()
        self.conv2 = ConvBN(hidden, dim, bn_weight_init=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act(self.conv1(x)))


class Block(nn.Module):
    """Stride-1 RepViT block: depthwise token mixer, optional SE, residual channel mixer."""

    def __init__(self, dim: int, use_se: bool, ratio: int = 2) -> None:
        super().__init__()
        self.token_mixer = RepVGGDW(dim)
        self.se = SqueezeExcite(dim) if use_se else nn.Identity()
        self.channel_mixer = ConvMlp(dim, dim * ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se(self.token_mixer(x))
        return x + self.channel_mixer(x)


class Downsample(nn.Module):
    """timm's stage opener: a block, stride-2 depthwise conv, 1x1 widening, residual FFN."""

    def __init__(self, in_dim: int, out_dim: int, ratio: int = 2) -> None:
        super().__init__()
        self.pre_block = Block(in_dim, use_se=False, ratio=ratio)
        self.spatial_downsample = ConvBN(in_dim, in_dim, 3, stride=2, groups=in_dim)
        self.channel_downsample = ConvBN(in_dim, out_dim)
        self.ffn = ConvMlp(out_dim, out_dim * ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.channel_downsample(self.spatial_downsample(self.pre_block(x)))
        return x + self.ffn(x)


class Stage(nn.Module):
    """Optional downsample, then blocks with SE on every other one starting with the first."""

    def __init__(self, in_dim: int, out_dim: int, depth: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = Downsample(in_dim, out_dim) if downsample else nn.Identity()
        self.blocks = nn.Sequential(*(Block(out_dim, use_se=i % 2 == 0) for i in range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class Stem(nn.Module):
    """Two stride-2 3x3 conv+BN with GELU between (stride 4 overall)."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.conv1 = ConvBN(3, out_dim // 2, 3, stride=2)
        self.act1 = nn.GELU()
        self.conv2 = ConvBN(out_dim // 2, out_dim, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act1(self.conv1(x)))


class FeatureBody(nn.Module):
    """timm's ``FeatureListNet`` over RepViT: ``stem`` and ``stages_0..3`` (flattened names)."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        widths, depths = cfg.trunk_widths, cfg.trunk_depths
        self.stem = Stem(widths[0])
        in_dim = widths[0]
        for i, (width, depth) in enumerate(zip(widths, depths, strict=True)):
            self.add_module(f"stages_{i}", Stage(in_dim, width, depth, downsample=i > 0))
            in_dim = width

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Stride 4, 8, 16 and 32 maps."""
        x = self.stem(x)
        out = []
        for i in range(4):
            x = getattr(self, f"stages_{i}")(x)
            out.append(x)
        return out


class Trunk(nn.Module):
    """EdgeTAM's ``TimmBackbone``: the feature body under the attribute ``body``."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        self.body = FeatureBody(cfg)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.body(x)
