"""Point sampling on mask grids: the prompt-in-the-loop refinement click and the initial click.

EdgeSAM's loop adds one point per iteration where the student's mask disagrees with the
target: a positive point in a false-negative pixel or a negative point in a false-positive
pixel, uniformly over all disagreeing pixels; with fewer than ~10 such pixels the point gets
the ignore label, so the prompt keeps its shape without a meaningless click.
"""

from __future__ import annotations

import torch

#: Label of a point the prompt encoder turns into a zero token (the model learns to ignore it).
IGNORE_LABEL = -2.0


def uniform_pixels(region: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, 2) x, y grid indices of one uniformly chosen True pixel per (B, H, W) region.

    Rows without any True pixel give an arbitrary pixel; callers decide what that means.
    """
    b, h, w = region.shape
    noise = torch.rand(b, h * w, generator=generator, device=region.device)
    flat = torch.argmax(noise * region.reshape(b, -1), dim=1)
    return torch.stack([flat % w, flat // w], dim=1).to(torch.float32)


def sample_refinement_points(
    pred: torch.Tensor, target: torch.Tensor, min_error_pixels: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One corrective click per row of (B, H, W) bool `pred` vs `target`.

    Returns (B, 2) x, y grid indices and (B,) labels: 1 in a false-negative pixel, 0 in a
    false-positive pixel, `IGNORE_LABEL` when fewer than `min_error_pixels` pixels disagree.
    """
    error = pred != target
    coords = uniform_pixels(error, generator)
    x, y = coords.long().unbind(dim=1)
    rows = torch.arange(len(pred), device=pred.device)
    labels = target[rows, y, x].to(torch.float32)
    few = error.reshape(len(pred), -1).sum(dim=1) < min_error_pixels
    return coords, torch.where(few, torch.full_like(labels, IGNORE_LABEL), labels)


def grid_to_frame(coords: torch.Tensor, grid: int, frame: int) -> torch.Tensor:
    """Grid cell centres to frame pixel coordinates (pixel centres at integers in both)."""
    scale = frame / grid
    return (coords + 0.5) * scale - 0.5
