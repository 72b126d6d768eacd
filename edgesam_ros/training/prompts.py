"""Initial prompts of the loop: a jittered box or one interior point per instance row.

Token layout matches what the engine sends the exported decoder: a box is its two corners
(labels 2, 3); a point prompt is the point (label 1) plus SAM's padding point (0, 0, label -1).
Both give two tokens, so one batch mixes them; refinement clicks are appended as columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .sampler import grid_to_frame, uniform_pixels

PAD_LABEL = -1.0
BOX_LABELS = (2.0, 3.0)


@dataclass
class PromptBatch:
    """(B, N, 2) frame coordinates, (B, N) labels, and which rows started from a box."""

    coords: torch.Tensor
    labels: torch.Tensor
    is_box: torch.Tensor

    def append(self, coords: torch.Tensor, labels: torch.Tensor) -> PromptBatch:
        """A new batch with one more token per row ((B, 2) coordinates, (B,) labels)."""
        return PromptBatch(torch.cat([self.coords, coords[:, None]], dim=1),
                           torch.cat([self.labels, labels[:, None]], dim=1), self.is_box)

    @property
    def multimask(self) -> torch.Tensor:
        """Rows that are a lone point: SAM's rule for using the multimask outputs."""
        return ~self.is_box & ((self.labels == 0) | (self.labels == 1)).sum(dim=1).eq(1)


def jitter_boxes(boxes: torch.Tensor, noise: float, frame: int, generator: torch.Generator
                 ) -> torch.Tensor:
    """Corners moved by Gaussian noise of `noise` x the box side, kept ordered and in frame."""
    side = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
    moved = boxes + noise * side * torch.randn(boxes.shape, generator=generator,
                                               device=boxes.device)
    moved = moved.clamp(0, frame)
    lo = torch.minimum(moved[:, :2], moved[:, 2:])
    hi = torch.maximum(moved[:, :2], moved[:, 2:])
    return torch.cat([lo, hi], dim=1)


def initial_prompts(targets: torch.Tensor, boxes: torch.Tensor, box_prob: float,
                    box_noise: float, frame: int, generator: torch.Generator) -> PromptBatch:
    """Box (probability `box_prob`) or uniform interior point of each (B, L, L) target."""
    b, grid = len(targets), targets.shape[-1]
    device = targets.device
    is_box = torch.rand(b, generator=generator, device=device) < box_prob
    box = jitter_boxes(boxes, box_noise, frame, generator).reshape(b, 2, 2)
    point = grid_to_frame(uniform_pixels(targets > 0.5, generator), grid, frame)
    point_tokens = torch.stack([point, torch.zeros_like(point)], dim=1)
    coords = torch.where(is_box[:, None, None], box, point_tokens)
    box_labels = torch.tensor(BOX_LABELS, device=device).expand(b, 2)
    point_labels = torch.tensor([1.0, PAD_LABEL], device=device).expand(b, 2)
    labels = torch.where(is_box[:, None], box_labels, point_labels)
    return PromptBatch(coords, labels, is_box)
