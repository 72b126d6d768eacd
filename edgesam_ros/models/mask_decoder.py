"""SAM's mask decoder: output tokens through the two-way transformer, then hypernetworks.

Always predicts all ``num_mask_tokens`` masks (0 = single-mask output, 1-3 = multimask);
callers pick. This is what EdgeSAM's distillation (MULTIMASK_OUTPUT 4) and our ONNX decoder
need, and it keeps one code path.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import MLP, LayerNorm2d
from .config import EdgeSamConfig
from .transformer import TwoWayTransformer


def output_upscaling(dim: int) -> nn.Sequential:
    """Two x2 transposed convs to ``dim / 8`` channels (SAM's and SAM 2's, same names)."""
    return nn.Sequential(
        nn.ConvTranspose2d(dim, dim // 4, 2, stride=2),
        LayerNorm2d(dim // 4),
        nn.GELU(),
        nn.ConvTranspose2d(dim // 4, dim // 8, 2, stride=2),
        nn.GELU(),
    )


class MaskDecoder(nn.Module):
    """Image + prompt embeddings to low-res mask logits ``[B, 4, 4h, 4w]`` and IoU ``[B, 4]``."""

    def __init__(self, cfg: EdgeSamConfig) -> None:
        super().__init__()
        dim = cfg.embed_dim
        self.transformer_dim = dim
        self.transformer = TwoWayTransformer(dim, cfg.decoder_depth, cfg.decoder_heads,
                                             cfg.decoder_mlp_dim, cfg.attention_downsample)
        self.num_mask_tokens = cfg.num_mask_tokens
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, dim)
        self.output_upscaling = output_upscaling(dim)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(dim, dim, dim // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(dim, cfg.iou_head_hidden_dim, self.num_mask_tokens,
                                       cfg.iou_head_depth)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode B prompts.

        ``image_embeddings`` ``[1 or B, C, h, w]`` (batch 1 is shared by all prompts),
        ``image_pe`` ``[1, C, h, w]``, ``sparse_prompt_embeddings`` ``[B, N, C]``,
        ``dense_prompt_embeddings`` ``[1 or B, C, h, w]``.
        """
        batch = sparse_prompt_embeddings.shape[0]
        out_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat(
            [out_tokens.unsqueeze(0).expand(batch, -1, -1), sparse_prompt_embeddings], dim=1)
        src = image_embeddings + dense_prompt_embeddings
        _, c, h, w = src.shape
        hs, keys = self.transformer(src, image_pe, tokens)
        keys = keys.expand(batch, -1, -1)
        mask_tokens_out = hs[:, 1:1 + self.num_mask_tokens]

        upscaled = self.output_upscaling(keys.transpose(1, 2).reshape(batch, c, h, w))
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)],
            dim=1)
        b, c2, h2, w2 = upscaled.shape
        masks = hyper_in @ upscaled.reshape(b, c2, h2 * w2)
        masks = masks.reshape(b, self.num_mask_tokens, h2, w2)
        iou_pred = self.iou_prediction_head(hs[:, 0])
        return masks, iou_pred
