"""Random 2-D shapes as polygons, and their exact rasterisation.

A shape is a list of contours in a local frame centred on the origin with every vertex within
radius 0.5, so a scale factor `s` makes an object about `s` pixels across. The first contour is the
outline, later ones are holes. Keeping shapes as polygons (not bitmaps) lets one shape be moved,
rotated and scaled every frame without resampling artefacts, and the rasterised mask is the single
source of truth for both the ground truth and the painted pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SUBPIXEL_BITS = 4
"""Fractional bits used by cv2.fillPoly, so sub-pixel motion moves the rasterised edges."""


@dataclass(frozen=True)
class Shape:
    """A shape in its local frame: `contours[0]` is the outline, the rest are holes."""

    kind: str
    contours: tuple[np.ndarray, ...]  # each (N, 2) float64 x, y

    @property
    def area(self) -> float:
        """Area of the unit-scale shape (outline minus holes); times scale**2 for pixels."""
        outer, *holes = (_polygon_area(c) for c in self.contours)
        return outer - sum(holes)


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _normalised(kind: str, contours: list[np.ndarray]) -> Shape:
    """Centre the outline's bounding box on the origin and scale it into radius 0.5."""
    outline = contours[0]
    centre = (outline.min(axis=0) + outline.max(axis=0)) / 2
    radius = np.linalg.norm(outline - centre, axis=1).max()
    return Shape(kind, tuple((c - centre) * (0.5 / radius) for c in contours))


def _radial(radii: np.ndarray, angles: np.ndarray) -> np.ndarray:
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _ellipse(rng: np.random.Generator, n: int = 48) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return _radial(np.ones(n), angles) * [1.0, rng.uniform(0.35, 1.0)]


def _convex_polygon(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(3, 10))
    # Jittered but spread angles: random angles on an ellipse are convex, the spread avoids slivers.
    angles = (np.arange(n) + rng.uniform(-0.35, 0.35, n)) * (2 * np.pi / n)
    return _radial(np.ones(n), angles) * [1.0, rng.uniform(0.45, 1.0)]


def _star(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(4, 9))
    angles = np.arange(2 * n) * (np.pi / n)
    radii = np.where(np.arange(2 * n) % 2 == 0, 1.0, rng.uniform(0.35, 0.65))
    return _radial(radii * rng.uniform(0.9, 1.1, 2 * n), angles)


def _blob(rng: np.random.Generator, n: int = 96) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    harmonics = np.arange(2, 6)
    amplitudes = rng.uniform(0.0, 0.45, harmonics.size) / harmonics**0.7
    phases = rng.uniform(0, 2 * np.pi, harmonics.size)
    radii = 1.0 + (amplitudes * np.cos(np.outer(angles, harmonics) + phases)).sum(axis=1)
    return _radial(np.maximum(radii, 0.25), angles)


def _bar(rng: np.random.Generator) -> np.ndarray:
    """A thin band along a (possibly bent) centre line."""
    half_width = rng.uniform(0.03, 0.09)
    t = np.linspace(-0.5, 0.5, 24)
    bend = rng.uniform(-0.6, 0.6) if rng.random() < 0.5 else 0.0
    centre = np.stack([t, bend * (t**2 - 0.25)], axis=1)
    tangent = np.gradient(centre, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return np.concatenate([centre + half_width * normal, (centre - half_width * normal)[::-1]])


def _rounded_rect(rng: np.random.Generator) -> np.ndarray:
    half = np.array([1.0, rng.uniform(0.3, 1.0)])
    r = rng.uniform(0.1, 0.9) * half.min()
    arc = np.linspace(0, np.pi / 2, 8)
    corners = []
    for k, (sx, sy) in enumerate([(1, 1), (-1, 1), (-1, -1), (1, -1)]):
        a = arc + k * np.pi / 2
        centre = np.array([sx, sy]) * (half - r)
        corners.append(centre + r * np.stack([np.cos(a), np.sin(a)], axis=1))
    return np.concatenate(corners)


def _inscribed_radius(outline: np.ndarray) -> float:
    """Distance from the origin to the nearest edge (the outline is star-shaped about it)."""
    a, b = outline, np.roll(outline, -1, axis=0)
    ab = b - a
    t = np.clip(-(a * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0, 1)
    return float(np.linalg.norm(a + t[:, None] * ab, axis=1).min())


def _with_hole(outline: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    room = _inscribed_radius(outline)
    hole_radius = rng.uniform(0.3, 0.6) * room
    offset = rng.uniform(-1, 1, 2) * 0.3 * (room - hole_radius)
    hole = _rounded_rect(rng) if rng.random() < 0.4 else _ellipse(rng, 32)
    hole = hole / np.linalg.norm(hole, axis=1).max() * hole_radius
    return [outline, hole + offset]


def random_shape(kind: str, rng: np.random.Generator) -> Shape:
    """A random shape of the given kind (one of `config.SHAPE_KINDS`)."""
    if kind == "polygon":
        contours = [_convex_polygon(rng)]
    elif kind == "ellipse":
        contours = [_ellipse(rng)]
    elif kind == "star":
        contours = [_star(rng)]
    elif kind == "blob":
        contours = [_blob(rng)]
    elif kind == "bar":
        contours = [_bar(rng)]
    elif kind == "ring":
        outline = _ellipse(rng)
        contours = [outline, outline[::-1] * rng.uniform(0.45, 0.75)]
    elif kind == "holed":
        outer = _blob(rng) if rng.random() < 0.5 else _radial(np.ones(8), np.arange(8) * np.pi / 4)
        contours = _with_hole(outer, rng)
    elif kind == "rounded_rect":
        contours = [_rounded_rect(rng)]
    else:
        raise ValueError(f"unknown shape kind {kind!r}")
    return _normalised(kind, contours)


def place(
    shape: Shape, centre: tuple[float, float], angle: float, scale: float
) -> list[np.ndarray]:
    """The shape's contours in image coordinates: rotate by `angle` (radians), scale, translate."""
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, s], [-s, c]]) * scale  # row-vector form of R(angle) * scale
    return [contour @ rotation + centre for contour in shape.contours]


def rasterise(contours: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Bool (H, W) mask of the contours (holes cut out), with sub-pixel vertex precision.

    Pixel (x, y) covers the point (x, y) of the contour coordinates (pixel centres are integers).
    """
    mask = np.zeros(size, np.uint8)
    fixed = [np.round(c * (1 << SUBPIXEL_BITS)).astype(np.int32) for c in contours]
    cv2.fillPoly(mask, fixed, 1, cv2.LINE_8, SUBPIXEL_BITS)
    return mask.view(bool)


def bounds(contours: list[np.ndarray], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Integer box x1, y1, x2, y2 (x2, y2 exclusive) around the contours, clipped to the image."""
    outline = contours[0]
    h, w = size
    x1, y1 = (int(v) - 1 for v in np.floor(outline.min(axis=0)))
    x2, y2 = (int(v) + 2 for v in np.ceil(outline.max(axis=0)))
    return max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)


def pixel_area(contours: list[np.ndarray]) -> int:
    """Number of pixels the contours rasterise to, counting those outside any image."""
    origin = np.floor(contours[0].min(axis=0)) - 1
    extent = np.ceil(contours[0].max(axis=0) - origin).astype(int) + 2
    return int(np.count_nonzero(rasterise([c - origin for c in contours], (extent[1], extent[0]))))
