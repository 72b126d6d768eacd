"""SAM 2's mask decoder as EdgeTAM uses it: high-resolution skips and an object-score token.

Differs from SAM's (:mod:`..mask_decoder`) by an ``obj_score_token`` before the IoU token, a
``pred_obj_score_head`` MLP (is the object visible at all?), sigmoid IoU predictions, and the
stride-4/stride-8 FPN maps (projected by ``conv_s0``/``conv_s1``) added inside the upscaling
path. Always returns all four masks and output tokens: the caller chooses (multimask or not,
dynamic fallback on unstable single masks), as upstream's video predictor does.
"""

from __future__ import annotations

import torch
from torch import nn

from ..common import MLP
from ..mask_decoder import output_upscaling
from ..transformer import TwoWayTransformer
from .config import EdgeTamConfig


def _token_mlp(dim: int, hidden: int) -> MLP:
    """SAM 2's two-layer ReLU FFN inside the two-way transformer (``mlp.layers.0/1``)."""
    return MLP(dim, hidden, dim, 2)


class MaskDecoder(nn.Module):
    """Features ``[B, C, h, w]`` + prompt embeddings -> masks, IoUs, tokens, object score."""

    num_mask_tokens = 4

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        d = cfg.hidden_dim
        self.transformer = TwoWayTransformer(d, 2, cfg.decoder_heads, cfg.decoder_mlp_dim, 2,
                                             mlp=_token_mlp)
        self.iou_token = nn.Embedding(1, d)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, d)
        self.obj_score_token = nn.Embedding(1, d)
        self.output_upscaling = output_upscaling(d)
        self.conv_s0 = nn.Conv2d(d, d // 8, 1)
        self.conv_s1 = nn.Conv2d(d, d // 4, 1)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(d, d, d // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(d, cfg.iou_head_hidden_dim, self.num_mask_tokens, 3)
        self.pred_obj_score_head = MLP(d, d, 1, 3)

    def forward(
        self,
        features: torch.Tensor,
        image_pe: torch.Tensor,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        feat_s0: torch.Tensor,
        feat_s1: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``features [B, C, h, w]``, ``image_pe``/``dense`` ``[1, C, h, w]``, ``sparse [B, N, C]``,
        ``feat_s0 [1, C/8, 4h, 4w]``, ``feat_s1 [1, C/4, 2h, 2w]`` (already projected).

        Returns masks ``[B, 4, 4h, 4w]``, IoUs ``[B, 4]`` (sigmoid), mask tokens
        ``[B, 4, C]`` and object-score logits ``[B, 1]``.
        """
        b = sparse.shape[0]
        out_tokens = torch.cat([self.obj_score_token.weight, self.iou_token.weight,
                                self.mask_tokens.weight], dim=0)
        tokens = torch.cat([out_tokens.unsqueeze(0).expand(b, -1, -1), sparse], dim=1)
        src = features + dense
        _, c, h, w = src.shape
        hs, keys = self.transformer(src, image_pe, tokens)
        keys = keys.expand(b, -1, -1)
        mask_tokens_out = hs[:, 2:2 + self.num_mask_tokens]

        dc1, ln1, act1, dc2, act2 = self.output_upscaling
        src = keys.transpose(1, 2).reshape(b, c, h, w)
        up = act1(ln1(dc1(src) + feat_s1))
        up = act2(dc2(up) + feat_s0)
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)],
            dim=1)
        _, c2, h2, w2 = up.shape
        masks = (hyper_in @ up.reshape(b, c2, h2 * w2)).reshape(b, self.num_mask_tokens, h2, w2)
        ious = torch.sigmoid(self.iou_prediction_head(hs[:, 1]))
        return masks, ious, mask_tokens_out, self.pred_obj_score_head(hs[:, 0])
