"""Backgrounds: a textured surface plus clutter (object-like shapes that are not instances).

Clutter uses the same shape generators as the instances, so a model cannot learn "every compact
shape is an object"; it only has to segment what it is prompted for.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import SHAPE_KINDS, BackgroundStyle
from .shapes import SUBPIXEL_BITS, place, random_shape
from .textures import color_at_distance, paint, pattern, random_color


def make_background(
    style: BackgroundStyle, height: int, width: int, rng: np.random.Generator
) -> np.ndarray:
    """Uint8 (H, W, 3) RGB background with clutter drawn into it."""
    kind = str(rng.choice(style.kinds))
    color_a = random_color(rng)
    color_b = color_at_distance(color_a, style.contrast, rng)
    image = paint(pattern(kind, height, width, min(height, width), rng), color_a, color_b)
    draw_clutter(image, style, rng)
    return image


def draw_clutter(image: np.ndarray, style: BackgroundStyle, rng: np.random.Generator) -> None:
    """Draw small flat shapes at random places, in colours near the local background colour."""
    height, width = image.shape[:2]
    count = int(rng.integers(style.clutter_count[0], style.clutter_count[1] + 1))
    short_side = min(height, width)
    for _ in range(count):
        shape = random_shape(str(rng.choice(SHAPE_KINDS)), rng)
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        size = rng.uniform(*style.clutter_size) * short_side
        contours = place(shape, (x, y), rng.uniform(0, 2 * np.pi), size)
        under = image[min(int(y), height - 1), min(int(x), width - 1)].astype(np.float64)
        color = color_at_distance(under, style.clutter_contrast, rng)
        fixed = [np.round(c * (1 << SUBPIXEL_BITS)).astype(np.int32) for c in contours]
        cv2.fillPoly(image, fixed, color.tolist(), cv2.LINE_8, SUBPIXEL_BITS)


def background_depth(height: int, width: int, depth_range: tuple[float, float]) -> np.ndarray:
    """Float32 (H, W) depth of a tilted background plane: far at the top, near at the bottom."""
    far, near = max(depth_range), min(depth_range)
    column = np.linspace(far, near, height, dtype=np.float32)[:, None]
    return np.repeat(column, width, axis=1)
