"""SAM's prompt encoder: points, boxes and low-res masks to sparse and dense embeddings.

Point labels: 1 foreground, 0 background, 2/3 box top-left/bottom-right corners, -1 padding
("not a point"), -2 ignored (zero embedding; EdgeSAM's training uses it for refinement
points that could not be sampled). Label embedding is arithmetic on masks, not boolean
indexing, so the same code trains in batch and exports to ONNX.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .common import LayerNorm2d
from .config import EdgeSamConfig


class PositionEmbeddingRandom(nn.Module):
    """Fourier features of coordinates in [0, 1] with a fixed random Gaussian projection."""

    def __init__(self, num_feats: int) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, num_feats))

    def encode(self, coords: torch.Tensor) -> torch.Tensor:
        """``[..., 2]`` coordinates in [0, 1] (x, y) to ``[..., 2 * num_feats]``."""
        proj = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        proj = 2 * math.pi * proj
        return torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1)

    def grid(self, h: int, w: int) -> torch.Tensor:
        """``[C, h, w]`` encoding of the pixel centres of an ``h`` x ``w`` grid."""
        device = self.positional_encoding_gaussian_matrix.device
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        return self.encode(torch.stack([xx, yy], dim=-1)).permute(2, 0, 1)


class PromptEncoder(nn.Module):
    """Embeds prompts for the mask decoder (names follow SAM so checkpoints load)."""

    def __init__(self, cfg: EdgeSamConfig) -> None:
        super().__init__()
        dim = cfg.embed_dim
        self.embed_dim = dim
        self.input_image_size = (cfg.image_size, cfg.image_size)
        self.image_embedding_size = (cfg.embedding_size, cfg.embedding_size)
        self.pe_layer = PositionEmbeddingRandom(dim // 2)
        self.num_point_embeddings = 4
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, dim)
        self.mask_input_size = (4 * cfg.embedding_size, 4 * cfg.embedding_size)
        c = cfg.mask_in_chans
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, c // 4, 2, stride=2),
            LayerNorm2d(c // 4),
            nn.GELU(),
            nn.Conv2d(c // 4, c, 2, stride=2),
            LayerNorm2d(c),
            nn.GELU(),
            nn.Conv2d(c, dim, 1),
        )
        self.no_mask_embed = nn.Embedding(1, dim)

    def get_dense_pe(self) -> torch.Tensor:
        """``[1, C, h, w]`` positional encoding of the image embedding grid."""
        return self.pe_layer.grid(*self.image_embedding_size).unsqueeze(0)

    def embed_points(
        self, coords: torch.Tensor, labels: torch.Tensor, frame: float | torch.Tensor
    ) -> torch.Tensor:
        """``[B, N, 2]`` pixel coordinates in a ``frame`` x ``frame`` square to ``[B, N, C]``.

        Adds 0.5 to move to pixel centres and divides by ``frame``, like upstream.
        """
        pe = self.pe_layer.encode((coords + 0.5) / frame)
        labels = labels.to(pe.dtype).unsqueeze(-1)
        table = torch.cat([e.weight for e in self.point_embeddings], dim=0)  # [4, C]
        ids = torch.arange(self.num_point_embeddings, device=pe.device, dtype=pe.dtype)
        one_hot = (labels == ids).to(pe.dtype)  # [B, N, 4]
        return (pe * (labels >= 0).to(pe.dtype) + one_hot @ table
                + (labels == -1).to(pe.dtype) * self.not_a_point_embed.weight)

    def embed_masks(self, masks: torch.Tensor, has_mask: torch.Tensor | None = None
                    ) -> torch.Tensor:
        """Dense embedding of ``[B, 1, 4h, 4w]`` mask logits.

        With ``has_mask`` (``[B]``, 0 or 1) rows without a mask get the no-mask embedding,
        which lets one batched call mix prompts with and without a mask.
        """
        emb = self.mask_downscaling(masks)
        if has_mask is None:
            return emb
        w = has_mask.to(emb.dtype).reshape(-1, 1, 1, 1)
        return w * emb + (1 - w) * self.no_mask_embed.weight.reshape(1, -1, 1, 1)

    def forward(
        self,
        points: tuple[torch.Tensor, torch.Tensor] | None = None,
        boxes: torch.Tensor | None = None,
        masks: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sparse ``[B, N', C]`` and dense ``[B or 1, C, h, w]`` embeddings.

        Coordinates are in the ``image_size`` frame. As in SAM, point-only prompts get one
        padding point appended. Without masks the dense embedding has batch 1 and
        broadcasts in the decoder.
        """
        sparse = []
        if points is not None:
            coords, labels = points
            if boxes is None:
                coords = torch.cat([coords, coords.new_zeros(coords.shape[0], 1, 2)], dim=1)
                labels = torch.cat([labels, labels.new_full((labels.shape[0], 1), -1)], dim=1)
            sparse.append(self.embed_points(coords, labels, self.input_image_size[0]))
        if boxes is not None:
            corners = boxes.reshape(-1, 2, 2)
            corner_labels = torch.tensor([2.0, 3.0], device=boxes.device).expand(len(boxes), 2)
            sparse.append(self.embed_points(corners, corner_labels, self.input_image_size[0]))
        if not sparse:
            batch = 1 if masks is None else masks.shape[0]
            sparse_emb = self.not_a_point_embed.weight.new_zeros(batch, 0, self.embed_dim)
        else:
            sparse_emb = torch.cat(sparse, dim=1)
        if masks is not None:
            dense = self.embed_masks(masks)
        else:
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(
                1, -1, *self.image_embedding_size)
        return sparse_emb, dense
