"""Tiny hand-made sequences of discs for tracker tests (segmented by `tracking.oracle`).

The tracker's logic (ids, gating, occlusion, recovery) must be testable without a trained model:
`render` draws discs into a ground-truth id image and an RGB image, and
`edgesam_ros.tracking.oracle.OracleEngine` "segments" the id image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from edgesam_ros.engine.types import MaskResult
from edgesam_ros.tracking.oracle import mask_result


@dataclass
class Disc:
    """A disc moving at constant velocity; `depth` smaller = in front."""

    id: int
    centre: tuple[float, float]
    velocity: tuple[float, float]
    radius: float
    depth: float
    color: tuple[int, int, int]
    visible: tuple[int, int] = (0, 10**9)  # frames [start, stop) in which it exists

    def at(self, t: int) -> tuple[int, int]:
        return (
            round(self.centre[0] + self.velocity[0] * t),
            round(self.centre[1] + self.velocity[1] * t),
        )


def render(discs: Sequence[Disc], t: int, size: tuple[int, int] = (240, 320)):
    """(id image uint16, RGB image) of frame t, far discs drawn first."""
    ids = np.zeros(size, np.uint16)
    rgb = np.full((*size, 3), 40, np.uint8)
    for disc in sorted(discs, key=lambda d: -d.depth):
        if disc.visible[0] <= t < disc.visible[1]:
            cv2.circle(ids, disc.at(t), round(disc.radius), int(disc.id), -1)
            cv2.circle(rgb, disc.at(t), round(disc.radius), disc.color, -1)
    return ids, rgb


def gt_box(ids: np.ndarray, object_id: int) -> np.ndarray:
    return np.asarray(mask_result(ids == object_id).box, np.float32)


def iou(result: MaskResult | None, ids: np.ndarray, object_id: int) -> float:
    """IoU of a tracked mask with GT object `object_id` (0 when either is missing)."""
    if result is None:
        return 0.0
    predicted = result.full_mask(ids.shape)
    gt = ids == object_id
    union = np.count_nonzero(predicted | gt)
    return np.count_nonzero(predicted & gt) / union if union else 0.0
