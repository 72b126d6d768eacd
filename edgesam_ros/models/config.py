"""Size parameters of an EdgeSAM model, and the named variants we build.

One dataclass drives every module so the official full-size network and our small bundled
variant share all code; only numbers differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: SAM's pixel normalisation on the 0-255 scale (RGB); EdgeSAM keeps it.
PIXEL_MEAN: tuple[float, float, float] = (123.675, 116.28, 103.53)
PIXEL_STD: tuple[float, float, float] = (58.395, 57.12, 57.375)


def alternating_se(depths: tuple[int, ...]) -> tuple[tuple[bool, ...], ...]:
    """Squeeze-excite on every other block, starting at the second block of each stage.

    The first stage starts with SE on its first block, as in RepViT-M1.
    """
    flags = []
    for stage, depth in enumerate(depths):
        first = 0 if stage == 0 else 1
        flags.append(tuple(i >= first and (i - first) % 2 == 0 for i in range(depth)))
    return tuple(flags)


#: RepViT-M1's SE placement (edge_sam/modeling/rep_vit.py `m1_cfgs`): alternating, except
#: that the 16-block third stage ends with two blocks without SE.
_M1_SE: tuple[tuple[bool, ...], ...] = (
    (True, False, False),
    (False, True, False, False),
    tuple(i % 2 == 1 and i < 15 for i in range(16)),
    (False, True, False),
)


#: Modes of the neck's x2 upsampling (``F.interpolate`` names): bicubic as the official
#: weights were trained, bilinear as upstream's ONNX/CoreML export scripts switch to.
UPSAMPLE_MODES = ("bicubic", "bilinear")


@dataclass(frozen=True)
class EdgeSamConfig:
    """Every size knob of the encoder, prompt encoder, decoder and optional RPN head.

    ``depths`` count all blocks of a stage, including the stride-2 block that opens
    stages 2-4. ``embed_dim`` is both the image-embedding channel count and the
    transformer width, as SAM requires.
    """

    name: str
    image_size: int = 1024
    widths: tuple[int, int, int, int] = (48, 96, 192, 384)
    depths: tuple[int, int, int, int] = (3, 4, 16, 3)
    se_blocks: tuple[tuple[bool, ...], ...] = _M1_SE
    expand_ratio: int = 2
    embed_dim: int = 256
    upsample_mode: str = "bicubic"
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_heads: int = 8
    decoder_mlp_dim: int = 2048
    attention_downsample: int = 2
    num_multimask_outputs: int = 3
    iou_head_depth: int = 3
    iou_head_hidden_dim: int = 256
    rpn: bool = False
    rpn_channels: int = 64
    rpn_stages: int = 3
    rpn_convs: int = 3
    rpn_strides: tuple[int, ...] = (8, 16, 32, 64, 128)
    rpn_octave_scale: float = 4.0
    rpn_scales_per_octave: int = 3
    rpn_ratios: tuple[float, ...] = (1.0, 0.5, 2.0)
    rpn_topk: int = 1000
    pixel_mean: tuple[float, float, float] = field(default=PIXEL_MEAN)
    pixel_std: tuple[float, float, float] = field(default=PIXEL_STD)

    def __post_init__(self) -> None:
        if len(self.widths) != 4 or len(self.depths) != 4:
            raise ValueError("RepViT has exactly four stages")
        if tuple(len(s) for s in self.se_blocks) != tuple(self.depths):
            raise ValueError("se_blocks must have one flag per block of each stage")
        if self.image_size % 128:
            raise ValueError("image_size must be a multiple of 128 (RPN levels go to stride 128)")
        if (self.embed_dim // self.attention_downsample) % self.decoder_heads:
            raise ValueError("decoder_heads must divide embed_dim / attention_downsample")

    @property
    def embedding_size(self) -> int:
        """Side of the image embedding: the encoder's output stride is 16."""
        return self.image_size // 16

    @property
    def num_mask_tokens(self) -> int:
        return self.num_multimask_outputs + 1


_TINY_DEPTHS = (2, 2, 8, 2)

VARIANTS: dict[str, EdgeSamConfig] = {
    "edgesam": EdgeSamConfig(name="edgesam"),
    "tiny": EdgeSamConfig(
        name="tiny",
        image_size=512,
        widths=(32, 64, 128, 256),
        depths=_TINY_DEPTHS,
        se_blocks=alternating_se(_TINY_DEPTHS),
        embed_dim=128,
        decoder_heads=4,
        decoder_mlp_dim=512,
        iou_head_hidden_dim=128,
        rpn_channels=48,
    ),
}


def get_config(variant: str | EdgeSamConfig, *, rpn: bool | None = None) -> EdgeSamConfig:
    """Resolve a variant name (or pass a config through), optionally toggling the RPN head."""
    if isinstance(variant, EdgeSamConfig):
        cfg = variant
    elif variant in VARIANTS:
        cfg = VARIANTS[variant]
    else:
        raise KeyError(f"unknown EdgeSAM variant {variant!r}; known: {sorted(VARIANTS)}")
    if rpn is not None and rpn != cfg.rpn:
        cfg = replace(cfg, rpn=rpn)
    return cfg
