"""Object appearance: a texture patch whose colours respect the difficulty settings.

The patch is painted in the object's own frame (so it moves and rotates with the object) and its
mean colour is kept at least `ObjectStyle.min_contrast` away from whatever lies behind or next to
the object: hard (sometimes low-contrast) but separable in principle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .config import ObjectStyle
from .textures import color_at_distance, paint, pattern, random_color, shade

PATCH_PADDING = 4
"""Extra pixels around the shape's extent so bilinear warping never samples outside the patch."""
COLOR_ATTEMPTS = 12


@dataclass(frozen=True)
class Appearance:
    texture: str
    patch: np.ndarray  # uint8 (P, P, 3) RGB; the patch centre is the shape's origin
    size: float  # object size in pixels the patch was painted for
    color: np.ndarray  # (3,) float mean RGB of the patch before lighting

    @property
    def centre(self) -> float:
        return (self.patch.shape[0] - 1) / 2


def object_appearance(
    style: ObjectStyle,
    size: float,
    references: Sequence[np.ndarray],
    rng: np.random.Generator,
) -> Appearance:
    """Texture patch for an object `size` pixels across.

    `references[0]` is the mean colour behind the object (low-contrast objects are drawn near it);
    every reference, e.g. neighbouring objects' colours, is kept at `min_contrast` distance.
    """
    side = int(np.ceil(size)) + 2 * PATCH_PADDING
    kind = str(rng.choice(style.texture_kinds))
    t = pattern(kind, side, side, size, rng)
    t_mean = cv2.mean(t)[0]
    refs = np.asarray(references, np.float64).reshape(-1, 3)
    best, best_distance = (np.zeros(3), np.zeros(3)), -1.0
    for _ in range(COLOR_ATTEMPTS):
        if rng.random() < style.low_contrast_prob:
            color_a = color_at_distance(refs[0], (style.min_contrast, style.low_contrast_max), rng)
        else:
            color_a = random_color(rng)
        color_b = color_at_distance(color_a, style.texture_contrast, rng)
        distance = float(
            np.linalg.norm(refs - (color_a + t_mean * (color_b - color_a)), axis=1).min()
        )
        if distance > best_distance:
            best, best_distance = (color_a, color_b), distance
        if distance >= style.min_contrast:
            break
    color_a, color_b = best  # the most separable candidate if none reached min_contrast
    patch = paint(t, color_a, color_b)
    if rng.random() < style.shading_prob:
        patch = shade(patch, rng.uniform(*style.shading_strength), rng)
    return Appearance(kind, patch, size, np.array(cv2.mean(patch)[:3]))
