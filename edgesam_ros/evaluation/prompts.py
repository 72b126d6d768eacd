"""Deterministic prompts of the standard interactive-segmentation protocol, from masks alone.

The first click is the object's most interior pixel (maximum of the distance transform), the
usual "centre point" of SAM-style evaluation; each correction click goes to the centre (same
rule) of the largest connected error region: positive if the model missed it, negative if it
added it (the NoC protocol of interactive segmentation benchmarks).
"""

from __future__ import annotations

import cv2
import numpy as np


def interior_point(mask: np.ndarray) -> np.ndarray:
    """(2,) float32 x, y of the pixel farthest from the region's boundary (image edges count)."""
    padded = np.pad(mask.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return np.array([x, y], np.float32)


def largest_region(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """The largest 8-connected component of a bool mask and its area (empty -> zeros, 0)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    if count <= 1:
        return np.zeros_like(mask, bool), 0
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == best, int(stats[best, cv2.CC_STAT_AREA])


def correction_click(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Next click (x, y) and its label (1 missed, 0 extra), or None when the mask is perfect."""
    missed, missed_area = largest_region(target & ~pred)
    extra, extra_area = largest_region(pred & ~target)
    if missed_area == 0 and extra_area == 0:
        return None
    if missed_area >= extra_area:
        return interior_point(missed), 1
    return interior_point(extra), 0
