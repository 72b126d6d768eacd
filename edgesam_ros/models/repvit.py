"""RepViT backbone blocks as EdgeSAM uses them, in training form, plus re-parameterisation.

Attribute names follow edge_sam/modeling/rep_vit.py so official checkpoints load strictly
(``features.<i>.token_mixer.0.conv.c.weight`` ...). Checkpoints hold the un-fused form:
conv + BatchNorm pairs and the RepVGG-style depthwise mixer with three branches.
:func:`reparameterize` folds those into single convolutions for inference and export.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import EdgeSamConfig


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round to a multiple of ``divisor`` never below it (timm's rule with round_limit=0)."""
    return max(divisor, int(value + divisor / 2) // divisor * divisor)


class ConvBN(nn.Sequential):
    """Bias-free convolution followed by BatchNorm (``c`` and ``bn``), foldable into one conv."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int = 1,
        stride: int = 1,
        groups: int = 1,
        bn_weight_init: float = 1.0,
    ) -> None:
        super().__init__()
        self.c = nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups,
                           bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        nn.init.constant_(self.bn.weight, bn_weight_init)
        nn.init.zeros_(self.bn.bias)

    @torch.no_grad()
    def fused(self) -> nn.Conv2d:
        """The single conv equal to conv-then-BN in eval mode."""
        c, bn = self.c, self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        conv = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding,
                         groups=c.groups, bias=True, device=c.weight.device)
        conv.weight.copy_(c.weight * scale[:, None, None, None])
        conv.bias.copy_(bn.bias - bn.running_mean * scale)
        return conv


class RepVGGDW(nn.Module):
    """Depthwise token mixer: 3x3 dw conv + 1x1 dw conv + identity, all with BN.

    Training benefits from the extra branches; inference folds them into one 3x3 conv.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = ConvBN(channels, channels, 3, groups=channels)
        self.conv1 = ConvBN(channels, channels, 1, groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.conv1(x) + x

    @torch.no_grad()
    def fused(self) -> nn.Conv2d:
        conv = self.conv.fused()
        one = self.conv1.fused()
        kernel = one.weight.clone()
        kernel += 1.0  # identity branch: a centre tap of one per depthwise channel
        conv.weight[:, :, 1:2, 1:2] += kernel
        conv.bias += one.bias
        return conv


class SqueezeExcite(nn.Module):
    """Channel attention with timm's ``fc1``/``bn``/``act``/``fc2`` layout (reduction 1/4)."""

    def __init__(self, channels: int, ratio: float = 0.25) -> None:
        super().__init__()
        reduced = make_divisible(channels * ratio)
        self.fc1 = nn.Conv2d(channels, reduced, 1)
        self.bn = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.fc2(self.act(self.bn(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * torch.sigmoid(s)


class Residual(nn.Module):
    """``x + m(x)``; the attribute is named ``m`` as in the checkpoints."""

    def __init__(self, m: nn.Module) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.m(x)


def _channel_mixer(channels: int, ratio: int) -> Residual:
    """Pointwise FFN with residual; the last BN starts at zero so blocks start as identity."""
    return Residual(nn.Sequential(
        ConvBN(channels, channels * ratio),
        nn.GELU(),
        ConvBN(channels * ratio, channels, bn_weight_init=0.0),
    ))


class RepViTBlock(nn.Module):
    """One RepViT block: a token mixer then a residual channel mixer.

    Stride-1 blocks mix tokens with :class:`RepVGGDW`; stride-2 blocks downsample with a
    3x3 depthwise conv and change width with a 1x1 conv.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int, use_se: bool, ratio: int) -> None:
        super().__init__()
        se = SqueezeExcite(in_ch) if use_se else nn.Identity()
        if stride == 2:
            self.token_mixer = nn.Sequential(
                ConvBN(in_ch, in_ch, 3, stride=2, groups=in_ch), se, ConvBN(in_ch, out_ch))
        elif in_ch == out_ch:
            self.token_mixer = nn.Sequential(RepVGGDW(in_ch), se)
        else:
            raise ValueError("a stride-1 RepViT block keeps its width")
        self.channel_mixer = _channel_mixer(out_ch, ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel_mixer(self.token_mixer(x))


def build_features(cfg: EdgeSamConfig) -> tuple[nn.ModuleList, list[int]]:
    """The stem and all blocks in one flat list (as checkpoints index them).

    Returns the list and the index into it of the last block of each stage, whose outputs
    are the stride 4/8/16/32 feature maps.
    """
    w0 = cfg.widths[0]
    stem = nn.Sequential(ConvBN(3, w0 // 2, 3, 2), nn.GELU(), ConvBN(w0 // 2, w0, 3, 2))
    layers: list[nn.Module] = [stem]
    stage_ends: list[int] = []
    in_ch = w0
    for stage, (width, depth) in enumerate(zip(cfg.widths, cfg.depths, strict=True)):
        for i in range(depth):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(
                RepViTBlock(in_ch, width, stride, cfg.se_blocks[stage][i], cfg.expand_ratio))
            in_ch = width
        stage_ends.append(len(layers) - 1)
    return nn.ModuleList(layers), stage_ends


def reparameterize(module: nn.Module) -> nn.Module:
    """Fold every :class:`ConvBN` and :class:`RepVGGDW` below ``module`` in place.

    Call after loading weights and before export: the result has the same eval-mode outputs
    with fewer, cheaper ops, but no longer matches the checkpoint's state_dict keys.
    """
    for name, child in module.named_children():
        if isinstance(child, (ConvBN, RepVGGDW)):
            setattr(module, name, child.fused())
        else:
            reparameterize(child)
    return module
