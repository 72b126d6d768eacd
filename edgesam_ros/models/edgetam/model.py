"""The whole EdgeTAM model, cut where the runtime cuts it: four stateless functions.

Top-level names (``image_encoder``, ``memory_attention``, ``memory_encoder``,
``spatial_perceiver``, ``sam_prompt_encoder``, ``sam_mask_decoder``, ``obj_ptr_proj``,
``maskmem_tpos_enc``, ``no_mem_embed``, ``no_mem_pos_enc``, ``no_obj_ptr``,
``mask_downsample``) are upstream ``SAM2Base``'s, so the official ``edgetam.pt`` loads with
``strict=True``. The memory bank itself is not here: it is state, kept by the tracker
(numpy at run time, :mod:`edgesam_ros.tracking.memory_bank`); these methods are what the
four ONNX graphs compute:

* :meth:`EdgeTam.encode_image` - image -> high-res skips, stride-16 features, position map;
* :meth:`EdgeTam.condition` - features + an object's memory frames and pointers -> features;
* :meth:`EdgeTam.decode` - features + points -> 4 masks, 4 IoUs, 4 pointers, object score;
* :meth:`EdgeTam.encode_memory` - features + chosen mask -> one frame's memory tokens.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..checkpoint import CheckpointError, read_state_dict
from ..common import MLP
from ..prompt_encoder import PromptEncoder
from .config import EdgeTamConfig, get_config
from .image_encoder import ImageEncoder
from .memory_attention import MemoryAttention
from .memory_encoder import MemoryEncoder, PerceiverResampler
from .sam_heads import MaskDecoder

#: Mask probabilities enter the memory encoder as ``p * 20 - 10`` (``sigmoid_scale/bias
#: _for_mem_enc`` in edgetam.yaml), i.e. logits of about +-10 for a binary mask.
MEM_MASK_SCALE = 20.0
MEM_MASK_BIAS = -10.0


class EdgeTam(nn.Module):
    """Modules plus the config that sized them; no pre/post-processing and no state."""

    def __init__(self, cfg: EdgeTamConfig) -> None:
        super().__init__()
        self.config = cfg
        c, m = cfg.hidden_dim, cfg.mem_dim
        self.image_encoder = ImageEncoder(cfg)
        self.mask_downsample = nn.Conv2d(1, 1, 4, stride=4)  # upstream's mask-prompt path
        self.memory_attention = MemoryAttention(cfg)
        self.memory_encoder = MemoryEncoder(cfg)
        self.spatial_perceiver = PerceiverResampler(cfg)
        self.maskmem_tpos_enc = nn.Parameter(0.02 * torch.randn(cfg.num_maskmem, 1, 1, m))
        self.no_mem_embed = nn.Parameter(0.02 * torch.randn(1, 1, c))
        self.no_mem_pos_enc = nn.Parameter(0.02 * torch.randn(1, 1, c))
        self.no_obj_ptr = nn.Parameter(0.02 * torch.randn(1, c))
        self.sam_prompt_encoder = PromptEncoder(cfg)  # type: ignore[arg-type]  # duck-typed cfg
        self.sam_mask_decoder = MaskDecoder(cfg)
        self.obj_ptr_proj = MLP(c, c, c, 3)

    def encode_image(self, image: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised ``[1, 3, S, S]`` -> ``feat_s0 [1, C/8, S/4, S/4]``,
        ``feat_s1 [1, C/4, S/8, S/8]``, ``vision_features [1, C, S/16, S/16]``,
        ``vision_pos`` (same shape)."""
        feats, pos = self.image_encoder(image)
        dec = self.sam_mask_decoder
        return dec.conv_s0(feats[0]), dec.conv_s1(feats[1]), feats[2], pos

    def memory_position(self, memory_tpos: torch.Tensor) -> torch.Tensor:
        """``[B, F, T, m]`` position of memory tokens: the perceiver's spatial encoding plus
        the temporal encoding ``maskmem_tpos_enc[memory_tpos]`` of each frame."""
        tpos = self.maskmem_tpos_enc[:, 0, 0][memory_tpos]  # [B, F, m]
        return self.spatial_perceiver.position()[None, None] + tpos[:, :, None, :]

    def condition(self, vision_features: torch.Tensor, vision_pos: torch.Tensor,
                  memory: torch.Tensor, memory_tpos: torch.Tensor, pointers: torch.Tensor
                  ) -> torch.Tensor:
        """Memory-conditioned ``[B, C, h, w]`` features.

        ``memory [B, F, T, m]`` (F >= 1 frames), ``memory_tpos [B, F]`` int64 indices into
        the temporal encodings (``num_maskmem - 1`` for conditioning frames, ``d - 1`` for the
        frame ``d`` frames back), ``pointers [B, P, C]`` (P >= 1).
        """
        return self.memory_attention(vision_features, vision_pos, memory,
                                     self.memory_position(memory_tpos), pointers)

    def decode(self, features: torch.Tensor, no_memory: torch.Tensor, feat_s0: torch.Tensor,
               feat_s1: torch.Tensor, point_coords: torch.Tensor, point_labels: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """SAM heads for B objects.

        ``features [B, C, h, w]``; ``no_memory [B]`` 1 where the features are the raw image
        features of an object's prompted first frame (upstream adds ``no_mem_embed`` there
        instead of running memory attention); ``point_coords [B, N, 2]`` in the S-frame,
        ``point_labels [B, N]`` (1, 0, 2/3 box corners, -1 padding). As upstream, one
        padding point is always appended. Returns masks ``[B, 4, 4h, 4w]``, IoUs ``[B, 4]``,
        object pointers ``[B, 4, C]`` (one per output token, occlusion-mixed) and object
        score logits ``[B, 1]``.
        """
        c = features.shape[1]
        features = features + no_memory.reshape(-1, 1, 1, 1) * self.no_mem_embed.reshape(1, c, 1, 1)
        pe = self.sam_prompt_encoder
        b = point_coords.shape[0]
        coords = torch.cat([point_coords, point_coords.new_zeros(b, 1, 2)], dim=1)
        labels = torch.cat([point_labels, point_labels.new_full((b, 1), -1.0)], dim=1)
        sparse = pe.embed_points(coords, labels, self.config.image_size)
        dense = pe.no_mask_embed.weight.reshape(1, c, 1, 1).expand(1, c, *pe.image_embedding_size)
        masks, ious, tokens, score = self.sam_mask_decoder(
            features, pe.get_dense_pe(), sparse, dense, feat_s0, feat_s1)
        visible = (score > 0).to(tokens.dtype)[:, :, None]  # [B, 1, 1]
        pointers = visible * self.obj_ptr_proj(tokens) + (1 - visible) * self.no_obj_ptr
        return masks, ious, pointers, score

    def encode_memory(self, vision_features: torch.Tensor, mask: torch.Tensor,
                      binarize: torch.Tensor) -> torch.Tensor:
        """One frame's memory ``[B, T, m]`` from the raw features and each object's chosen
        low-res mask logits ``[B, 1, 4h, 4w]``; ``binarize [B]`` 1 on prompted frames (the
        video predictor's ``binarize_mask_from_pts_for_mem_enc``), else the sigmoid is used."""
        s = self.config.image_size
        high = F.interpolate(mask, size=(s, s), mode="bilinear", align_corners=False)
        hard = binarize.reshape(-1, 1, 1, 1)
        prob = hard * (high > 0).to(high.dtype) + (1 - hard) * torch.sigmoid(high)
        maps = self.memory_encoder(vision_features, prob * MEM_MASK_SCALE + MEM_MASK_BIAS)
        return self.spatial_perceiver(maps)


def build_edgetam(variant: str | EdgeTamConfig = "edgetam") -> EdgeTam:
    """Randomly initialised EdgeTAM in eval mode; nothing is downloaded."""
    return EdgeTam(get_config(variant)).eval()


def load_edgetam(path: str | Path, variant: str | EdgeTamConfig = "edgetam") -> EdgeTam:
    """Build ``variant`` and load an official ``edgetam.pt`` (``{'model': state_dict}``)
    strictly; returns the un-fused model in eval mode."""
    state = read_state_dict(path)
    model = build_edgetam(variant)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not match EdgeTAM variant {model.config.name!r}: "
                              f"{exc}") from exc
    return model
