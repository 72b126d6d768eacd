"""Size parameters of EdgeTAM (SAM 2 with a RepViT-M1 trunk and a spatial perceiver).

Numbers of the ``edgetam`` variant come from facebookresearch/EdgeTAM's
``sam2/configs/edgetam.yaml`` and the defaults of the classes it instantiates; ``micro`` is a
random-weight variant with every module type at toy width, so tests and parity checks run in
well under a second per graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: ImageNet mean/std on the 0-255 scale (SAM 2 normalises 0-1 pixels with 0.485/0.229 ...).
PIXEL_MEAN: tuple[float, float, float] = (123.675, 116.28, 103.53)
PIXEL_STD: tuple[float, float, float] = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class EdgeTamConfig:
    """Every size knob of EdgeTAM.

    ``trunk_depths`` count timm's blocks per stage *after* the stage's downsample unit (timm's
    ``repvit_m1``: 2/2/14/2). ``hidden_dim`` is the FPN/decoder width, ``mem_dim`` the memory
    width (object pointers are split into ``hidden_dim // mem_dim`` memory tokens).
    """

    name: str
    image_size: int = 1024
    trunk_widths: tuple[int, int, int, int] = (48, 96, 192, 384)
    trunk_depths: tuple[int, int, int, int] = (2, 2, 14, 2)
    hidden_dim: int = 256
    mem_dim: int = 64
    decoder_heads: int = 8
    decoder_mlp_dim: int = 2048
    iou_head_hidden_dim: int = 256
    mask_in_chans: int = 16
    memory_attention_layers: int = 2
    memory_attention_ffn: int = 2048
    fuser_layers: int = 2
    perceiver_depth: int = 2
    perceiver_latents: int = 256
    perceiver_latents_2d: int = 256
    perceiver_ff_mult: int = 4
    num_maskmem: int = 7
    max_obj_ptrs: int = 16
    rope_theta: float = 10000.0
    pixel_mean: tuple[float, float, float] = PIXEL_MEAN
    pixel_std: tuple[float, float, float] = PIXEL_STD

    def __post_init__(self) -> None:
        if self.image_size % 64:
            raise ValueError("image_size must be a multiple of 64 (stride-32 trunk, x4 masks)")
        side = math.isqrt(self.perceiver_latents_2d)
        if side * side != self.perceiver_latents_2d or self.embedding_size % side:
            raise ValueError("perceiver_latents_2d must be a square whose side divides "
                             "image_size / 16")
        if self.hidden_dim % self.mem_dim:
            raise ValueError("mem_dim must divide hidden_dim (pointers split into tokens)")

    @property
    def embedding_size(self) -> int:
        """Side of the stride-16 feature map the memory attention and decoder work on."""
        return self.image_size // 16

    @property
    def latent_side(self) -> int:
        """Side of the perceiver's 2-D latent grid (16 for EdgeTAM)."""
        return math.isqrt(self.perceiver_latents_2d)

    @property
    def memory_tokens(self) -> int:
        """Tokens one frame's memory holds: global latents then 2-D latents (512 for EdgeTAM)."""
        return self.perceiver_latents + self.perceiver_latents_2d

    @property
    def pointer_tokens(self) -> int:
        """Memory tokens one object pointer becomes (4 for EdgeTAM)."""
        return self.hidden_dim // self.mem_dim

    @property
    def embed_dim(self) -> int:
        """Alias read by the SAM prompt encoder shared with EdgeSAM."""
        return self.hidden_dim


VARIANTS: dict[str, EdgeTamConfig] = {
    "edgetam": EdgeTamConfig(name="edgetam"),
    "micro": EdgeTamConfig(
        name="micro",
        image_size=128,
        trunk_widths=(8, 16, 24, 32),
        trunk_depths=(2, 1, 2, 1),
        hidden_dim=32,
        mem_dim=8,
        decoder_heads=2,
        decoder_mlp_dim=32,
        iou_head_hidden_dim=16,
        memory_attention_ffn=32,
        perceiver_latents=4,
        perceiver_latents_2d=4,
    ),
}


def get_config(variant: str | EdgeTamConfig) -> EdgeTamConfig:
    """Resolve a variant name (or pass a config through)."""
    if isinstance(variant, EdgeTamConfig):
        return variant
    if variant not in VARIANTS:
        raise KeyError(f"unknown EdgeTAM variant {variant!r}; known: {sorted(VARIANTS)}")
    return VARIANTS[variant]
