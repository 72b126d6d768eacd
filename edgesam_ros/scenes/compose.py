"""Composition: paint textured layers over a background in depth order and keep exact masks.

Each layer's rasterised polygon is the one truth: it is the amodal mask, its unoccluded part is
the visible mask, and exactly those pixels are painted with the layer's texture. Ground truth and
pixels therefore cannot disagree, whatever the shapes, holes or overlaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .appearance import Appearance
from .shapes import Shape, bounds, place, rasterise


@dataclass(frozen=True)
class Layer:
    """A textured polygon at a depth."""

    contours: list[np.ndarray]
    """Contours in image coordinates (outline, then holes)."""
    patch: np.ndarray
    """uint8 (P, P, 3) texture in the layer's own frame."""
    patch_to_image: np.ndarray
    """(2, 3) affine matrix mapping patch pixel coordinates to image coordinates."""
    depth: float


@dataclass(frozen=True)
class Composite:
    image: np.ndarray  # (H, W, 3) uint8, before imaging effects
    amodal: np.ndarray  # (L, H, W) bool, in layer order
    visible: np.ndarray  # (L, H, W) bool, in layer order
    depth: np.ndarray | None  # (H, W) float32 when a background depth was given


def patch_transform(
    centre: tuple[float, float], angle: float, ratio: float, patch_centre: float
) -> np.ndarray:
    """Affine (2, 3) taking a patch painted at one scale to the image: rotate by `angle` and
    scale by `ratio` about the patch centre, then move that centre to `centre`.

    Uses the same rotation convention as `shapes.place`, so texture and polygon move together.
    """
    c, s = np.cos(angle) * ratio, np.sin(angle) * ratio
    linear = np.array([[c, -s], [s, c]])
    offset = np.asarray(centre, np.float64) - linear @ np.array([patch_centre, patch_centre])
    return np.hstack([linear, offset[:, None]])


def occlusion_masks(
    contours: Sequence[list[np.ndarray]], depths: Sequence[float], size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Amodal and visible (L, H, W) bool masks of polygons at depths; nearer hides farther.

    Separate from painting so sequence metadata can be computed without rendering textures.
    """
    amodal = np.zeros((len(contours), *size), bool)
    for k, layer_contours in enumerate(contours):
        amodal[k] = rasterise(layer_contours, size)
    visible = np.zeros_like(amodal)
    covered = np.zeros(size, bool)
    for k in np.argsort(np.asarray(depths, np.float64), kind="stable"):
        np.logical_and(amodal[k], ~covered, out=visible[k])
        covered |= amodal[k]
    return amodal, visible


def compose(
    background: np.ndarray, layers: list[Layer], background_depth: np.ndarray | None = None
) -> Composite:
    """Paint `layers` over a uint8 RGB `background` (not modified); nearer layers hide farther."""
    size = background.shape[:2]
    amodal, visible = occlusion_masks(
        [layer.contours for layer in layers], [layer.depth for layer in layers], size
    )

    image = background.copy()
    depth = None if background_depth is None else background_depth.copy()
    for k, layer in enumerate(layers):
        x1, y1, x2, y2 = bounds(layer.contours, size)
        if x2 <= x1 or y2 <= y1:
            continue
        matrix = layer.patch_to_image.copy()
        matrix[:, 2] -= (x1, y1)
        warped = cv2.warpAffine(
            layer.patch,
            matrix,
            (x2 - x1, y2 - y1),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        where = visible[k, y1:y2, x1:x2]
        np.copyto(image[y1:y2, x1:x2], warped, where=where[..., None])
        if depth is not None:
            depth[y1:y2, x1:x2][where] = layer.depth
    return Composite(image, amodal, visible, depth)


def object_layer(
    shape: Shape,
    appearance: Appearance,
    centre: tuple[float, float],
    angle: float,
    size: float,
    depth: float,
) -> Layer:
    """Layer of `shape` posed `size` pixels across, its texture resampled to match."""
    contours = place(shape, centre, angle, size)
    matrix = patch_transform(centre, angle, size / appearance.size, appearance.centre)
    return Layer(contours, appearance.patch, matrix, depth)
