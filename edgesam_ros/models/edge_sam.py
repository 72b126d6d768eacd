"""The whole EdgeSAM model: image encoder, prompt encoder, mask decoder, optional RPN.

Top-level names (``image_encoder``, ``prompt_encoder``, ``mask_decoder``, ``fpn``,
``rpn_head``) match upstream's ``Sam`` so official checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import EdgeSamConfig, get_config
from .image_encoder import ImageEncoder
from .mask_decoder import MaskDecoder
from .prompt_encoder import PromptEncoder
from .repvit import reparameterize
from .rpn import BiFPN, RPNHead


class EdgeSam(nn.Module):
    """Modules plus the config that sized them; no pre/post-processing lives here."""

    def __init__(self, cfg: EdgeSamConfig) -> None:
        super().__init__()
        self.config = cfg
        self.image_encoder = ImageEncoder(cfg)
        self.prompt_encoder = PromptEncoder(cfg)
        self.mask_decoder = MaskDecoder(cfg)
        if cfg.rpn:
            self.fpn = BiFPN(cfg)
            self.rpn_head = RPNHead(cfg)
        self.register_buffer("pixel_mean", torch.tensor(cfg.pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(cfg.pixel_std).view(-1, 1, 1), False)

    def propose(self, stage_feats: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """RPN top-K boxes ``[B, K, 4]`` (S-frame) and scores ``[B, K]`` from stage maps."""
        return self.rpn_head.proposals(*self.rpn_head(self.fpn(stage_feats)))

    def predict(
        self,
        images: torch.Tensor,
        points: tuple[torch.Tensor, torch.Tensor] | None = None,
        boxes: torch.Tensor | None = None,
        masks: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Convenience: one normalised ``[1, 3, S, S]`` image and B prompts to masks, IoU."""
        emb = self.image_encoder(images)
        sparse, dense = self.prompt_encoder(points=points, boxes=boxes, masks=masks)
        return self.mask_decoder(emb, self.prompt_encoder.get_dense_pe(), sparse, dense)

    def fuse(self) -> EdgeSam:
        """Re-parameterise RepViT (conv+BN, RepVGG branches) in place; eval-mode only."""
        self.eval()
        reparameterize(self.image_encoder.features)
        return self


@torch.no_grad()
def jitter_batchnorm(model: nn.Module, seed: int) -> nn.Module:
    """Give every BatchNorm random affine parameters and running statistics.

    Freshly built RepViT blocks start as identities (their last BN weight is zero), so
    random-weight models would skip most of the network; this makes random exports and
    fuse/parity tests exercise every branch with realistic magnitudes.
    """
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.copy_(0.5 + 0.5 * torch.rand(n, generator=gen))
            m.bias.copy_(0.1 * torch.randn(n, generator=gen))
            m.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(n, generator=gen))
    return model


def build_model(variant: str | EdgeSamConfig = "edgesam", *, rpn: bool | None = None,
                seed: int | None = None) -> EdgeSam:
    """Build an un-fused model in eval mode; ``seed`` makes random weights reproducible."""
    cfg = get_config(variant, rpn=rpn)
    if seed is None:
        return EdgeSam(cfg).eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return EdgeSam(cfg).eval()
