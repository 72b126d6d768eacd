"""EdgeSAM's "fuse" neck: merge the stride-16 and stride-32 maps, then SAM's conv neck.

The stride-32 map is projected and upsampled x2 (bicubic in the official PyTorch model,
bilinear in its ONNX/CoreML exports), added to the projected stride-16 map, then refined by
1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d into the ``embed_dim``-channel embedding.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .common import LayerNorm2d


class Upsample2x(nn.Module):
    """Parameter-free x2 resize whose mode can be switched for export."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode=self.mode, align_corners=False)


class ProjectUpsample(nn.Module):
    """1x1 projection then x2 upsampling, stored as ``op_list`` like upstream's OpSequential."""

    def __init__(self, in_ch: int, out_ch: int, mode: str) -> None:
        super().__init__()
        self.op_list = nn.ModuleList([nn.Conv2d(in_ch, out_ch, 1, bias=False), Upsample2x(mode)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.op_list:
            x = op(x)
        return x


def sam_neck(in_ch: int, out_ch: int) -> nn.Sequential:
    """SAM's neck: 1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d, all convs bias-free."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 1, bias=False),
        LayerNorm2d(out_ch),
        nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
        LayerNorm2d(out_ch),
    )
