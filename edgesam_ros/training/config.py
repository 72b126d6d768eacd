"""Every number of a training run, with its default, in one frozen dataclass.

A run's config is saved in its checkpoint, so `--resume` continues with the same numbers and
the model card can quote them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from edgesam_ros.models.config import EdgeSamConfig, get_config

#: Variants defined for training on top of `edgesam_ros.models.VARIANTS`. `tiny384` (the
#: bundled model) is the model package's `tiny` at a 384-pixel input: same RepViT encoder,
#: EdgeSAM neck, SAM decoder and RPN, but ~1.7x cheaper per training step than 512 on a
#: 2-core CPU, which decides how much training fits in the time budget.
TRAINING_VARIANTS: dict[str, EdgeSamConfig] = {
    "tiny384": replace(get_config("tiny"), name="tiny384", image_size=384),
}


def resolve_variant(variant: str | EdgeSamConfig) -> EdgeSamConfig:
    """A training variant, a `models` variant name, or a config passed through."""
    if isinstance(variant, str) and variant in TRAINING_VARIANTS:
        return TRAINING_VARIANTS[variant]
    return get_config(variant)


@dataclass(frozen=True)
class TrainConfig:
    """Knobs of the three stages; step counts of 0 skip a stage."""

    #: A variant name (`TRAINING_VARIANTS` or `edgesam_ros.models.VARIANTS`) or an explicit
    #: config (tests use a smaller input to stay fast).
    variant: str | EdgeSamConfig = "tiny384"
    seed: int = 0
    #: Images per optimiser step (each contributes all its instances as prompts).
    batch_images: int = 4
    #: Most instances per image used as prompts (EdgeSAM samples up to 16).
    max_instances: int = 16
    #: Probability that an instance is prompted with its box rather than a point.
    box_prob: float = 0.5
    #: Box-prompt jitter: corner noise std as a fraction of the box side (SAM trains with noise).
    box_noise: float = 0.05
    #: Prompt-in-the-loop iterations: the initial prompt plus DECODE_ITERS - 1 refinement points.
    decode_iters: int = 2
    #: Fewer disagreeing pixels than this (at loss resolution) gives an ignored refinement point.
    min_error_pixels: int = 10
    #: Probability that a refinement iteration also feeds the previous logits as mask input, so
    #: the decoder's `mask_input` (used by the tracker) is trained, unlike upstream's.
    mask_input_prob: float = 0.5
    #: Loss grid = this x the decoder's low-res grid; targets are area fractions on that grid,
    #: which teaches sub-pixel boundaries through the bilinear upsampling of the logits.
    loss_upscale: int = 2
    bce_weight: float = 5.0
    dice_weight: float = 5.0
    iou_weight: float = 1.0
    #: Stage 1: encoder-only distillation steps (skipped without a teacher).
    stage1_steps: int = 0
    stage2_steps: int = 2000
    stage3_steps: int = 400
    lr: float = 2e-3
    rpn_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    #: RPN anchor assignment: IoU at or above is positive, below `rpn_neg_iou` negative.
    rpn_pos_iou: float = 0.5
    rpn_neg_iou: float = 0.4
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    checkpoint_every: int = 200
