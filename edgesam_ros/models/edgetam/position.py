"""Position encodings of SAM 2 / EdgeTAM: 2-D sine maps and axial rotary (RoPE) tables.

Upstream rotates query/key pairs by multiplying with complex tensors (``torch.polar`` and
``view_as_complex``), which the ONNX exporter refuses (``ScalarType ComplexFloat is an
unexpected tensor scalar type``). :func:`apply_rope` is the same rotation written with real
cos/sin tables: channel pairs (2i, 2i+1) are rotated by angle ``theta_i``.
"""

from __future__ import annotations

import math

import torch


def sine_position_encoding(h: int, w: int, dim: int, temperature: float = 10000.0,
                           device: torch.device | None = None) -> torch.Tensor:
    """``[dim, h, w]`` normalised sine encoding (SAM 2's ``PositionEmbeddingSine``).

    The first half of the channels encodes y, the second x; within each half, sin and cos of
    the same frequency interleave.
    """
    half = dim // 2
    scale = 2 * math.pi
    eps = 1e-6
    ys = torch.arange(1, h + 1, dtype=torch.float32, device=device)
    xs = torch.arange(1, w + 1, dtype=torch.float32, device=device)
    ys = ys / (ys[-1] + eps) * scale
    xs = xs / (xs[-1] + eps) * scale
    dim_t = torch.arange(half, dtype=torch.float32, device=device)
    dim_t = temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / half)

    def encode(v: torch.Tensor) -> torch.Tensor:  # [n] -> [n, half]
        p = v[:, None] / dim_t
        return torch.stack((p[:, 0::2].sin(), p[:, 1::2].cos()), dim=2).flatten(1)

    pos_y = encode(ys)[:, None, :].expand(h, w, half)
    pos_x = encode(xs)[None, :, :].expand(h, w, half)
    return torch.cat((pos_y, pos_x), dim=2).permute(2, 0, 1)


def rope_angles(dim: int, end_x: int, end_y: int, theta: float = 10000.0) -> torch.Tensor:
    """``[end_x * end_y, dim // 2]`` rotation angles of an axial RoPE over a row-major grid.

    The first ``dim // 4`` angles follow x, the next ``dim // 4`` follow y (upstream's
    ``compute_axial_cis`` before ``torch.polar``).
    """
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 4)[: dim // 4].float() / dim))
    t = torch.arange(end_x * end_y, dtype=torch.float32)
    t_x = t % end_x
    t_y = torch.div(t, end_x, rounding_mode="floor")
    return torch.cat([torch.outer(t_x, freqs), torch.outer(t_y, freqs)], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs of ``x`` ``[..., N, D]`` by tables ``cos``/``sin`` ``[N, D // 2]``."""
    pairs = x.reshape(*x.shape[:-1], -1, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)
