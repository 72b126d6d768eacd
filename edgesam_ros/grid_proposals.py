"""Object proposals for models without an RPN head: a coarse grid of point prompts + mask NMS.

The official EdgeSAM ONNX files have no proposal outputs, so "segment everything" works like SAM's
automatic mask generator, scaled down for a robot: one foreground point per grid cell, all decoded
against the frame's embedding (the engine batches them), unstable and tiny masks dropped, then
greedy NMS on mask IoU. The surviving masks' boxes become `Proposals` that the tracker's auto mode
turns into objects exactly like RPN proposals. ROS-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgesam_ros.engine import Embedding, MaskResult, Prompt, Proposals


def grid_points(size: tuple[int, int], per_side: int) -> np.ndarray:
    """(per_side**2, 2) float32 x, y at the centres of a per_side x per_side grid over (H, W)."""
    h, w = size
    steps = (np.arange(per_side, dtype=np.float32) + 0.5) / per_side
    xs, ys = np.meshgrid(steps * w, steps * h)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def mask_iou(a: MaskResult, b: MaskResult) -> float:
    """IoU of two cropped masks, computed on the overlap of their boxes only."""
    x1, y1 = max(a.box[0], b.box[0]), max(a.box[1], b.box[1])
    x2, y2 = min(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    if x2 <= x1 or y2 <= y1:
        return 0.0
    crop_a = a.mask[y1 - a.box[1] : y2 - a.box[1], x1 - a.box[0] : x2 - a.box[0]]
    crop_b = b.mask[y1 - b.box[1] : y2 - b.box[1], x1 - b.box[0] : x2 - b.box[0]]
    inter = int(np.count_nonzero(crop_a & crop_b))
    union = a.area + b.area - inter
    return inter / union if union else 0.0


def mask_nms(results: Sequence[MaskResult], iou_threshold: float) -> list[MaskResult]:
    """Greedy NMS on mask IoU, most stable first."""
    kept: list[MaskResult] = []
    for result in sorted(results, key=lambda r: -r.stability):
        if all(mask_iou(result, other) <= iou_threshold for other in kept):
            kept.append(result)
    return kept


def grid_proposals(
    engine: object,
    embedding: Embedding,
    per_side: int,
    min_stability: float,
    nms_iou: float,
    min_area: int,
) -> Proposals:
    """Proposals (mask boxes, scored by stability) from a grid of single-point prompts."""
    prompts = [Prompt.from_points(p[None]) for p in grid_points(embedding.original_size, per_side)]
    results = [
        r for r in engine.decode(embedding, prompts)
        if r.stability >= min_stability and r.area >= max(min_area, 1)
    ]
    kept = mask_nms(results, nms_iou)
    boxes = np.array([r.box for r in kept], np.float32).reshape(-1, 4)
    scores = np.array([r.stability for r in kept], np.float32)
    return Proposals(boxes=boxes, scores=scores)
