"""EdgeSAM's RPN "granularity prior": a BiFPN neck and a one-class anchor head.

Upstream (edge_sam/modeling/sam.py, ``rpn_head='efficient_det'``) builds mmdetection's
EfficientDet ``BiFPN`` (3 stages, 64 channels, on the 96/192/384-channel stride 8/16/32
maps, BN eps 1e-3) and ``EfficientDetSepBNHead`` (3 depthwise-separable convs shared across
the 5 levels with per-level BN, swish, 9 anchors per location: octave base scale 4,
3 scales per octave, ratios 1/0.5/2, strides 8-128, centre offset 0.5, DeltaXYWH coder with
zero means and unit stds). Module names follow mmdetection so that a converted RPN
checkpoint (``fpn.*``, ``rpn_head.*``) loads; no RPN weights are released upstream.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .config import EdgeSamConfig

_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01
#: DeltaXYWH's clamp on log-size deltas: boxes grow at most 1000/16 times their anchor.
_MAX_LOG_RATIO = abs(math.log(16 / 1000))
_FUSE_EPS = 1e-4
_LEVELS = (3, 4, 5, 6, 7)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


def max_pool_same(x: torch.Tensor) -> torch.Tensor:
    """3x3 stride-2 max pool with TensorFlow "same" zero padding (EfficientDet's resampling)."""
    h, w = x.shape[-2:]
    pad_h = (math.ceil(h / 2) - 1) * 2 - h + 3
    pad_w = (math.ceil(w / 2) - 1) * 2 - w + 3
    x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
    return F.max_pool2d(x, 3, 2)


class SeparableConv(nn.Module):
    """Depthwise 3x3 then pointwise 1x1 (with bias), optionally followed by BN."""

    def __init__(self, in_ch: int, out_ch: int, norm: bool = True) -> None:
        super().__init__()
        self.depthwise_conv = nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch, bias=False)
        self.pointwise_conv = nn.Conv2d(in_ch, out_ch, 1)
        self.bn = _bn(out_ch) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.pointwise_conv(self.depthwise_conv(x)))


class ChannelProjection(nn.Module):
    """1x1 conv + BN that brings a backbone map to the BiFPN width."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.down_conv = nn.Conv2d(in_ch, out_ch, 1)
        self.bn = _bn(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.down_conv(x))


class BiFPNStage(nn.Module):
    """One top-down + bottom-up pass over P3-P7 with fast normalised weighted fusion.

    The first stage builds P3-P7 from the three backbone maps (P6/P7 by pooling P5).
    """

    def __init__(self, in_channels: tuple[int, int, int], ch: int, first: bool) -> None:
        super().__init__()
        self.first = first
        if first:
            c3, c4, c5 = in_channels
            self.p5_down_channel = ChannelProjection(c5, ch)
            self.p4_down_channel = ChannelProjection(c4, ch)
            self.p3_down_channel = ChannelProjection(c3, ch)
            self.p5_to_p6 = nn.Sequential(ChannelProjection(c5, ch))
            self.p4_level_connection = ChannelProjection(c4, ch)
            self.p5_level_connection = ChannelProjection(c5, ch)
        for level in (6, 5, 4, 3):
            setattr(self, f"conv{level}_up", SeparableConv(ch, ch))
        for level in (4, 5, 6, 7):
            setattr(self, f"conv{level}_down", SeparableConv(ch, ch))
        for level in (6, 5, 4, 3):
            setattr(self, f"p{level}_w1", nn.Parameter(torch.ones(2)))
        for level in (4, 5, 6, 7):
            setattr(self, f"p{level}_w2", nn.Parameter(torch.ones(2 if level == 7 else 3)))

    def _fuse(self, name: str, weight: torch.Tensor, inputs: list[torch.Tensor]) -> torch.Tensor:
        w = F.relu(weight)
        w = w / (w.sum() + _FUSE_EPS)
        mixed = sum(w[i] * x for i, x in enumerate(inputs))
        return getattr(self, name)(F.silu(mixed))

    def forward(self, feats: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        if self.first:
            c3, c4, c5 = feats
            p6 = max_pool_same(self.p5_to_p6(c5))
            ins = {3: self.p3_down_channel(c3), 4: self.p4_down_channel(c4),
                   5: self.p5_down_channel(c5), 6: p6, 7: max_pool_same(p6)}
        else:
            ins = dict(zip(_LEVELS, feats, strict=True))
        top_down = {7: ins[7]}
        for level in (6, 5, 4, 3):
            up = F.interpolate(top_down[level + 1], scale_factor=2.0, mode="nearest")
            top_down[level] = self._fuse(f"conv{level}_up", getattr(self, f"p{level}_w1"),
                                         [ins[level], up])
        if self.first:
            ins[4] = self.p4_level_connection(c4)
            ins[5] = self.p5_level_connection(c5)
        outs = {3: top_down[3]}
        for level in (4, 5, 6, 7):
            mids = [] if level == 7 else [top_down[level]]
            outs[level] = self._fuse(f"conv{level}_down", getattr(self, f"p{level}_w2"),
                                     [ins[level], *mids, max_pool_same(outs[level - 1])])
        return tuple(outs[level] for level in _LEVELS)


class BiFPN(nn.Module):
    """``rpn_stages`` BiFPN passes (mmdetection's ``bifpn`` Sequential)."""

    def __init__(self, cfg: EdgeSamConfig) -> None:
        super().__init__()
        c3, c4, c5 = cfg.widths[1:]
        self.bifpn = nn.Sequential(*(
            BiFPNStage((c3, c4, c5), cfg.rpn_channels, first=i == 0)
            for i in range(cfg.rpn_stages)))

    def forward(self, feats: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return self.bifpn(feats)


def make_anchors(cfg: EdgeSamConfig) -> torch.Tensor:
    """All anchors ``[sum(H*W*A), 4]`` (x1, y1, x2, y2) in the S-frame.

    Ordered level, then location (row-major), then ratio, then scale, matching how the
    head's outputs are flattened.
    """
    scales = cfg.rpn_octave_scale * 2.0 ** (
        torch.arange(cfg.rpn_scales_per_octave) / cfg.rpn_scales_per_octave)
    h_ratio = torch.sqrt(torch.tensor(cfg.rpn_ratios, dtype=torch.float64))
    w_ratio = 1.0 / h_ratio
    levels = []
    for stride in cfg.rpn_strides:
        ws = (stride * w_ratio[:, None] * scales[None, :]).reshape(-1)
        hs = (stride * h_ratio[:, None] * scales[None, :]).reshape(-1)
        base = torch.stack([-ws / 2, -hs / 2, ws / 2, hs / 2], dim=1) + 0.5 * stride
        n = math.ceil(cfg.image_size / stride)
        shift = torch.arange(n, dtype=torch.float64) * stride
        sy, sx = torch.meshgrid(shift, shift, indexing="ij")
        shifts = torch.stack([sx, sy, sx, sy], dim=-1).reshape(-1, 1, 4)
        levels.append((shifts + base[None]).reshape(-1, 4))
    return torch.cat(levels).float()


class RPNHead(nn.Module):
    """Shared separable convs with per-level BN, swish; class and box-delta headers."""

    def __init__(self, cfg: EdgeSamConfig) -> None:
        super().__init__()
        ch = cfg.rpn_channels
        levels = len(cfg.rpn_strides)
        anchors_per_loc = cfg.rpn_scales_per_octave * len(cfg.rpn_ratios)
        self.reg_conv_list = nn.ModuleList(
            SeparableConv(ch, ch, norm=False) for _ in range(cfg.rpn_convs))
        self.cls_conv_list = nn.ModuleList(
            SeparableConv(ch, ch, norm=False) for _ in range(cfg.rpn_convs))
        self.reg_bn_list = nn.ModuleList(
            nn.ModuleList(_bn(ch) for _ in range(levels)) for _ in range(cfg.rpn_convs))
        self.cls_bn_list = nn.ModuleList(
            nn.ModuleList(_bn(ch) for _ in range(levels)) for _ in range(cfg.rpn_convs))
        self.cls_header = SeparableConv(ch, anchors_per_loc, norm=False)
        self.reg_header = SeparableConv(ch, anchors_per_loc * 4, norm=False)
        nn.init.constant_(self.cls_header.pointwise_conv.bias, -math.log(99.0))  # prior 0.01
        self.image_size = cfg.image_size
        self.topk = cfg.rpn_topk
        self.register_buffer("anchors", make_anchors(cfg), persistent=False)

    @staticmethod
    def _tower(feat: torch.Tensor, convs: nn.ModuleList, bns: nn.ModuleList, level: int
               ) -> torch.Tensor:
        for conv, bn in zip(convs, bns, strict=True):
            feat = F.silu(bn[level](conv(feat)))
        return feat

    def forward(self, feats: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """Flattened logits ``[B, total]`` and box deltas ``[B, total, 4]`` over all levels."""
        logits, deltas = [], []
        for level, feat in enumerate(feats):
            reg = self.reg_header(self._tower(feat, self.reg_conv_list, self.reg_bn_list, level))
            cls = self.cls_header(self._tower(feat, self.cls_conv_list, self.cls_bn_list, level))
            b = feat.shape[0]
            deltas.append(reg.permute(0, 2, 3, 1).reshape(b, -1, 4))
            logits.append(cls.permute(0, 2, 3, 1).reshape(b, -1))
        return torch.cat(logits, dim=1), torch.cat(deltas, dim=1)

    def proposals(self, logits: torch.Tensor, deltas: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-K boxes ``[B, K, 4]`` in the S-frame and sigmoid scores ``[B, K]``, before NMS."""
        k = min(self.topk, logits.shape[1])
        top, idx = torch.topk(logits, k, dim=1)
        d = torch.gather(deltas, 1, idx.unsqueeze(-1).expand(-1, -1, 4))
        a = self.anchors[idx]
        size = a[..., 2:] - a[..., :2]
        centre = a[..., :2] + 0.5 * size + size * d[..., :2]
        half = 0.5 * size * torch.exp(d[..., 2:].clamp(-_MAX_LOG_RATIO, _MAX_LOG_RATIO))
        boxes = torch.cat([centre - half, centre + half], dim=-1).clamp(0, self.image_size)
        return boxes, torch.sigmoid(top)
