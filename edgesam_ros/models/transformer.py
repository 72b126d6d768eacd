"""SAM's two-way transformer: prompt tokens and image tokens attend to each other.

Image keys may have batch 1 while tokens have batch B (one image, B objects): attention
broadcasts, so the shared image side is not copied B times until it first differs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F


class Attention(nn.Module):
    """Multi-head attention whose q/k/v projections may shrink the width by ``downsample``.

    Keys and values may come from another width (``kv_dim``; SAM 2's memory attention reads
    64-wide memories into a 256-wide attention).
    """

    def __init__(self, dim: int, heads: int, downsample: int = 1, kv_dim: int | None = None
                 ) -> None:
        super().__init__()
        inner = dim // downsample
        kv_dim = kv_dim or dim
        self.num_heads = heads
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(kv_dim, inner)
        self.v_proj = nn.Linear(kv_dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Attention of head-split ``q``/``k``/``v`` then the output projection."""
        out = F.scaled_dot_product_attention(q, k, v)
        b, h, n, d = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * d))

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # A batch-1 side (the shared image) broadcasts against B prompts.
        return self.attend(self.split_heads(self.q_proj(q)), self.split_heads(self.k_proj(k)),
                           self.split_heads(self.v_proj(v)))


class MLPBlock(nn.Module):
    """Token FFN (``lin1``/``lin2``) with ReLU, as in SAM's decoder."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(self.act(self.lin1(x)))


class TwoWayAttentionBlock(nn.Module):
    """Token self-attention, token-to-image attention, token MLP, image-to-token attention."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, downsample: int, skip_pe: bool,
                 mlp: Callable[[int, int], nn.Module] = MLPBlock) -> None:
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, heads, downsample)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = mlp(dim, mlp_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, heads, downsample)
        self.skip_first_layer_pe = skip_pe

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, query_pe: torch.Tensor,
                key_pe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)

        k = keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(queries + query_pe, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, queries + query_pe, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    """``depth`` two-way blocks, then a final token-to-image attention and LayerNorm.

    ``mlp(dim, hidden)`` builds each block's token FFN: SAM's ``lin1``/``lin2`` by default;
    SAM 2 (EdgeTAM) names the same ReLU FFN ``layers.0``/``layers.1``.
    """

    def __init__(self, dim: int, depth: int, heads: int, mlp_dim: int, downsample: int,
                 mlp: Callable[[int, int], nn.Module] = MLPBlock) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(dim, heads, mlp_dim, downsample, skip_pe=i == 0, mlp=mlp)
            for i in range(depth))
        self.final_attn_token_to_image = Attention(dim, heads, downsample)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(self, image: torch.Tensor, image_pe: torch.Tensor, tokens: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``image``/``image_pe`` ``[B or 1, C, h, w]``, ``tokens`` ``[B, T, C]``.

        Returns processed tokens ``[B, T, C]`` and image tokens ``[B or 1, h*w, C]``.
        """
        keys = image.flatten(2).transpose(1, 2)
        key_pe = image_pe.flatten(2).transpose(1, 2)
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, key_pe)
        attn = self.final_attn_token_to_image(queries + tokens, keys + key_pe, keys)
        return self.norm_final_attn(queries + attn), keys
