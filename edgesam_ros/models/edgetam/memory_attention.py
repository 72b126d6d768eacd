"""Memory attention: the current frame's features attend to an object's memory bank.

Same layers and names as upstream's ``MemoryAttention`` (``layers.<i>.self_attn``,
``cross_attn_image``, ``linear1/2``, ``norm1..3``, final ``norm``), batch-first, with two
changes of form, not of arithmetic:

* RoPE uses real cos/sin tables (:func:`.position.apply_rope`) so the graph exports;
* the memory is passed structured, ``memory [B, F, T, mem_dim]`` (F frames of T tokens: the
  perceiver's global latents, unrotated, then its 2-D latents, rotated) plus
  ``pointers [B, P, hidden]``, instead of upstream's flat token list with counts
  (``num_obj_ptr_tokens``, ``num_spatial_mem``); the layout is the same once flattened.

The image features may have batch 1 while the memory has batch B (one frame, B objects):
everything before the first cross-attention is computed once and broadcast.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..transformer import Attention
from .config import EdgeTamConfig
from .position import apply_rope, rope_angles


class MemoryAttentionLayer(nn.Module):
    """Self-attention (RoPE), cross-attention to memory (RoPE on 2-D memory tokens), FFN."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        d = cfg.hidden_dim
        self.self_attn = Attention(d, 1)
        self.cross_attn_image = Attention(d, 1, kv_dim=cfg.mem_dim)
        self.linear1 = nn.Linear(d, cfg.memory_attention_ffn)
        self.linear2 = nn.Linear(cfg.memory_attention_ffn, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.norm3 = nn.LayerNorm(d)
        self.n_global = cfg.perceiver_latents

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor,
                pointers: torch.Tensor, q_rope: tuple[torch.Tensor, torch.Tensor],
                k_rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """``tgt [1 or B, N, C]``, ``memory``/``memory_pos`` ``[B, F, T, m]``,
        ``pointers [B, P * tokens, m]``."""
        sa = self.self_attn
        x = self.norm1(tgt)
        q = apply_rope(sa.split_heads(sa.q_proj(x)), *q_rope)
        k = apply_rope(sa.split_heads(sa.k_proj(x)), *q_rope)
        tgt = tgt + sa.attend(q, k, sa.split_heads(sa.v_proj(x)))

        ca = self.cross_attn_image
        x = self.norm2(tgt)
        q = apply_rope(ca.split_heads(ca.q_proj(x)), *q_rope)
        b, f, t, m = memory.shape
        k_mem = ca.k_proj(memory + memory_pos)  # [B, F, T, C]
        k_mem = k_mem.reshape(b, f, t, ca.num_heads, -1).permute(0, 3, 1, 2, 4)
        k_mem = torch.cat([k_mem[:, :, :, : self.n_global],
                           apply_rope(k_mem[:, :, :, self.n_global:], *k_rope)], dim=3)
        k = torch.cat([k_mem.flatten(2, 3), ca.split_heads(ca.k_proj(pointers))], dim=2)
        v = torch.cat([ca.split_heads(ca.v_proj(memory.reshape(b, f * t, m))),
                       ca.split_heads(ca.v_proj(pointers))], dim=2)
        tgt = tgt + ca.attend(q, k, v)

        x = self.norm3(tgt)
        return tgt + self.linear2(F.relu(self.linear1(x)))


class MemoryAttention(nn.Module):
    """``layers`` then a final LayerNorm; inputs are added 0.1 x their position encoding."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            MemoryAttentionLayer(cfg) for _ in range(cfg.memory_attention_layers))
        self.norm = nn.LayerNorm(cfg.hidden_dim)
        self.mem_dim = cfg.mem_dim
        # cos/sin tables as buffers, not in the checkpoint (non-persistent); the exporter makes
        # them persistent so each is stored once (see edgetam_export.persist_buffers).
        side, ls = cfg.embedding_size, cfg.latent_side
        q_angles = rope_angles(cfg.hidden_dim, side, side, cfg.rope_theta)
        k_angles = rope_angles(cfg.hidden_dim, ls, ls, cfg.rope_theta)
        for name, table in (("q_cos", q_angles.cos()), ("q_sin", q_angles.sin()),
                            ("k_cos", k_angles.cos()), ("k_sin", k_angles.sin())):
            self.register_buffer(name, table, persistent=False)

    def forward(self, features: torch.Tensor, feature_pos: torch.Tensor, memory: torch.Tensor,
                memory_pos: torch.Tensor, pointers: torch.Tensor) -> torch.Tensor:
        """``features``/``feature_pos`` ``[1 or B, C, h, w]``, ``memory``/``memory_pos``
        ``[B, F, T, mem_dim]``, ``pointers [B, P, C]`` (each split into ``C / mem_dim`` tokens).

        Returns ``[B, C, h, w]`` memory-conditioned features.
        """
        _, c, h, w = features.shape
        pointers = pointers.reshape(pointers.shape[0], -1, self.mem_dim)
        tgt = (features + 0.1 * feature_pos).flatten(2).transpose(1, 2)
        q_rope, k_rope = (self.q_cos, self.q_sin), (self.k_cos, self.k_sin)
        for layer in self.layers:
            tgt = layer(tgt, memory, memory_pos, pointers, q_rope, k_rope)
        out = self.norm(tgt)
        return out.transpose(1, 2).reshape(out.shape[0], c, h, w)
