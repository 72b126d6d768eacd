"""Still images: several textured objects with partial occlusions over a cluttered background.

Objects are placed nearest first, so each new (farther) object only has to check how much of it
the already placed ones hide; placements hiding more than `SceneConfig.max_occlusion` are retried.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .appearance import Appearance, object_appearance
from .background import background_depth, make_background
from .camera import Imaging, apply_imaging
from .compose import compose, object_layer
from .config import SceneConfig
from .scene import InstanceInfo, Scene, build_scene
from .shapes import Shape, bounds, pixel_area, place, random_shape, rasterise


@dataclass(frozen=True)
class _Placed:
    shape: Shape
    size: float
    centre: tuple[float, float]
    angle: float
    depth: float
    box: tuple[int, int, int, int]


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _candidate_centre(
    placed: list[_Placed], size: float, config: SceneConfig, rng: np.random.Generator
) -> tuple[float, float]:
    """Anywhere in the image, or next to a nearer object so that it hides part of this one."""
    if placed and rng.random() < config.occlusion_prob:
        other = placed[int(rng.integers(len(placed)))]
        direction = rng.uniform(0, 2 * np.pi)
        reach = rng.uniform(0.25, 0.8) * (other.size + size) / 2
        return other.centre[0] + reach * np.cos(direction), other.centre[1] + reach * np.sin(
            direction
        )
    return rng.uniform(0, config.width), rng.uniform(0, config.height)


def _place_objects(config: SceneConfig, rng: np.random.Generator) -> list[_Placed]:
    """Poses of the objects, nearest first, each visible enough behind the nearer ones."""
    size_px = np.array(config.objects.size) * min(config.height, config.width)
    count = int(rng.integers(config.num_objects[0], config.num_objects[1] + 1))
    depths = np.sort(rng.uniform(*config.object_depth, count))
    image_size = (config.height, config.width)
    covered = np.zeros(image_size, bool)
    placed: list[_Placed] = []
    for depth in depths:
        shape = random_shape(str(rng.choice(config.objects.shape_kinds)), rng)
        size = rng.uniform(*size_px)
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(config.placement_attempts):
            centre = _candidate_centre(placed, size, config, rng)
            contours = place(shape, centre, angle, size)
            x1, y1, x2, y2 = bounds(contours, image_size)
            if x2 <= x1 or y2 <= y1:
                continue
            local = rasterise([c - (x1, y1) for c in contours], (y2 - y1, x2 - x1))
            seen = int(np.count_nonzero(local & ~covered[y1:y2, x1:x2]))
            full = pixel_area(contours)
            needed = max(config.min_visible_pixels, (1 - config.max_occlusion) * full)
            if seen >= needed:
                covered[y1:y2, x1:x2] |= local
                placed.append(_Placed(shape, size, centre, angle, float(depth), (x1, y1, x2, y2)))
                break
    return placed


def _appearances(
    placed: list[_Placed], background: np.ndarray, config: SceneConfig, rng: np.random.Generator
) -> list[Appearance]:
    """Textures whose colours stay separable from the background and overlapping neighbours."""
    result: list[Appearance] = []
    for k, obj in enumerate(placed):
        x1, y1, x2, y2 = obj.box
        behind = np.array(cv2.mean(background[y1:y2, x1:x2])[:3])
        neighbours = [
            a.color for a, p in zip(result, placed[:k], strict=True) if _overlaps(p.box, obj.box)
        ]
        result.append(object_appearance(config.objects, obj.size, [behind, *neighbours], rng))
    return result


def generate_scene(seed: int, config: SceneConfig | None = None) -> Scene:
    """A random still scene; the same seed and config always give identical bytes."""
    config = config or SceneConfig()
    rng = np.random.default_rng(seed)
    height, width = config.height, config.width
    background = make_background(config.background, height, width, rng)
    placed = _place_objects(config, rng)
    appearances = _appearances(placed, background, config, rng)
    layers = [
        object_layer(p.shape, a, p.centre, p.angle, p.size, p.depth)
        for p, a in zip(placed, appearances, strict=True)
    ]
    depth_plane = (
        background_depth(height, width, config.background_depth) if config.with_depth else None
    )
    composite = compose(background, layers, depth_plane)
    imaging = Imaging.sample(config.camera, rng)
    image = apply_imaging(composite.image, imaging, rng, imaging.gain_map(height, width))
    return build_scene(
        image=image,
        ids=np.arange(1, len(placed) + 1),
        visible=composite.visible,
        amodal=composite.amodal,
        depths=np.array([p.depth for p in placed]),
        full_areas=np.array([pixel_area(layer.contours) for layer in layers]),
        instances=tuple(
            InstanceInfo.of(p.shape, a) for p, a in zip(placed, appearances, strict=True)
        ),
        depth=composite.depth,
    )
