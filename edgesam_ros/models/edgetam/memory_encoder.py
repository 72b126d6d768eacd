"""Memory encoder and spatial perceiver: one frame's mask + features -> 512 memory tokens.

Upstream's ``MemoryEncoder`` (mask downsampler, pixel projection, ConvNeXt fuser, 1x1 out
projection) followed by EdgeTAM's ``PerceiverResampler``: global latents cross-attend to the
whole map (keys and values plus its sine encoding), 2-D latents each attend to their own
window. Names match upstream so checkpoints load. Differences of form: the 2-D path uses
``reshape`` where upstream's ``.view`` fails on the expanded latents for more than one object
(EdgeTAM issue #15), and the per-head width equals the perceiver width (EdgeTAM's
``dim_head == dim == 64``, one head).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..common import LayerNorm2d
from .config import EdgeTamConfig
from .position import sine_position_encoding


class MaskDownSampler(nn.Module):
    """Four stride-2 3x3 convs (x4 channels each, LayerNorm2d, GELU), then a 1x1 projection."""

    def __init__(self, out_dim: int, total_stride: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for _ in range(int(math.log2(total_stride))):
            cout = cin * 4
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), LayerNorm2d(cout), nn.GELU()]
            cin = cout
        layers.append(nn.Conv2d(cin, out_dim, 1))
        self.encoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


class CXBlock(nn.Module):
    """ConvNeXt block: 7x7 depthwise conv, LayerNorm2d, MLP x4 with GELU, layer scale."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(y)))
        return x + y.permute(0, 3, 1, 2)


class Fuser(nn.Module):
    def __init__(self, dim: int, num_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(CXBlock(dim) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MemoryEncoder(nn.Module):
    """Features ``[1 or B, C, h, w]`` + mask ``[B, 1, 16h, 16w]`` (already scaled) -> memory map."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        d = cfg.hidden_dim
        self.mask_downsampler = MaskDownSampler(d)
        self.pix_feat_proj = nn.Conv2d(d, d, 1)
        self.fuser = Fuser(d, cfg.fuser_layers)
        self.out_proj = nn.Conv2d(d, cfg.mem_dim, 1)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.pix_feat_proj(features) + self.mask_downsampler(mask)
        return self.out_proj(self.fuser(x))


def feed_forward(dim: int, mult: int) -> nn.Sequential:
    """LayerNorm, bias-free Linear x``mult``, GELU, bias-free Linear (``ff.0/1/3``)."""
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim * mult, bias=False), nn.GELU(),
                         nn.Linear(dim * mult, dim, bias=False))


class PerceiverAttention(nn.Module):
    """Latents attend to inputs; the inputs' position encoding is added to keys AND values."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm_x = nn.LayerNorm(dim)
        self.norm_latents = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(dim, 2 * dim, bias=False)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, latents: torch.Tensor, x: torch.Tensor,
                pos: torch.Tensor | None = None) -> torch.Tensor:
        q = self.to_q(self.norm_latents(latents))
        k, v = self.to_kv(self.norm_x(x)).chunk(2, dim=-1)
        if pos is not None:
            k, v = k + pos, v + pos
        return self.to_out(F.scaled_dot_product_attention(q, k, v))


class SelfAttention(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(dim, 2 * dim, bias=False)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        k, v = self.to_kv(x).chunk(2, dim=-1)
        return self.to_out(F.scaled_dot_product_attention(self.to_q(x), k, v))


class PerceiverLayer(nn.Module):
    def __init__(self, dim: int, ff_mult: int) -> None:
        super().__init__()
        self.attn = PerceiverAttention(dim)
        self.ff = feed_forward(dim, ff_mult)
        self.self_attn = SelfAttention(dim)
        self.self_ff = feed_forward(dim, ff_mult)

    def forward(self, latents: torch.Tensor, x: torch.Tensor,
                pos: torch.Tensor | None = None) -> torch.Tensor:
        latents = latents + self.attn(latents, x, pos)
        latents = latents + self.ff(latents)
        latents = latents + self.self_attn(latents)
        return latents + self.self_ff(latents)


class PerceiverResampler(nn.Module):
    """Memory map ``[B, m, h, w]`` -> ``[B, L + L2, m]`` tokens (global, then 2-D latents)."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        m = cfg.mem_dim
        self.latents = nn.Parameter(torch.randn(cfg.perceiver_latents, m))
        self.latents_2d = nn.Parameter(torch.randn(cfg.perceiver_latents_2d, m))
        self.layers = nn.ModuleList(
            PerceiverLayer(m, cfg.perceiver_ff_mult) for _ in range(cfg.perceiver_depth))
        self.norm = nn.LayerNorm(m)
        self.side = cfg.latent_side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        pos = sine_position_encoding(h, w, c, device=x.device).flatten(1).transpose(0, 1)
        tokens = x.flatten(2).transpose(1, 2)  # [B, hw, m]
        latents = self.latents.unsqueeze(0).expand(b, -1, -1)
        for layer in self.layers:
            latents = layer(latents, tokens, pos)

        n, ws = self.side, h // self.side
        windows = x.permute(0, 2, 3, 1).reshape(b, n, ws, n, ws, c).permute(0, 1, 3, 2, 4, 5)
        windows = windows.reshape(b * n * n, ws * ws, c)
        latents_2d = self.latents_2d.unsqueeze(0).expand(b, -1, -1).reshape(b * n * n, 1, c)
        for layer in self.layers:
            latents_2d = layer(latents_2d, windows)
        latents_2d = latents_2d.reshape(b, n * n, c)
        return self.norm(torch.cat([latents, latents_2d], dim=1))

    def position(self) -> torch.Tensor:
        """``[L + L2, m]`` position encoding of the tokens: zeros for the global latents, a
        sine map of the 2-D grid for the others (upstream returns it with every memory)."""
        m = self.latents.shape[1]
        grid = sine_position_encoding(self.side, self.side, m, device=self.latents.device)
        return torch.cat([self.latents.new_zeros(self.latents.shape),
                          grid.flatten(1).transpose(0, 1)], dim=0)
