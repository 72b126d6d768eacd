"""The ground-truth container shared by still images and sequence frames.

Conventions: pixel (x, y) has its centre at integer coordinates (x right, y down); boxes are
x1, y1 inclusive and x2, y2 exclusive (so `x2 - x1` is the width in pixels), like the engine's
`MaskResult.box`; an empty mask has the box (0, 0, 0, 0). Instance ids start at 1; 0 is background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .appearance import Appearance
from .shapes import Shape


@dataclass(frozen=True)
class InstanceInfo:
    """What an instance is made of: useful to slice evaluation results by kind."""

    shape: str
    texture: str
    color: tuple[float, float, float]
    """Mean RGB of its texture before lighting, blur and noise."""

    @classmethod
    def of(cls, shape: Shape, appearance: Appearance) -> InstanceInfo:
        return cls(shape.kind, appearance.texture, tuple(float(v) for v in appearance.color))


@dataclass
class Scene:
    """One image with exact per-instance ground truth; row k of every array is instance `ids[k]`."""

    image: np.ndarray
    """(H, W, 3) uint8 RGB."""
    ids: np.ndarray
    """(K,) int32 instance ids, >= 1; persistent across the frames of a sequence."""
    instance_masks: np.ndarray
    """(K, H, W) bool visible masks (after occlusion); pairwise disjoint, possibly empty."""
    amodal_masks: np.ndarray
    """(K, H, W) bool full silhouettes ignoring occlusion, clipped to the image."""
    boxes: np.ndarray
    """(K, 4) float32 tight boxes x1, y1, x2, y2 of the visible masks (x2, y2 exclusive)."""
    depths: np.ndarray
    """(K,) float32 distance to the camera in metres; smaller is nearer and occludes."""
    visible_fraction: np.ndarray
    """(K,) float32 visible pixels / pixels of the whole silhouette, including any part outside
    the image: 1 = fully seen, 0 = hidden or out of the frame."""
    in_frame_fraction: np.ndarray
    """(K,) float32 silhouette pixels inside the image / all silhouette pixels."""
    instances: tuple[InstanceInfo, ...]
    depth: np.ndarray | None = None
    """(H, W) float32 metres: each object a fronto-parallel plane at its depth over a farther,
    tilted background plane (only when the config asks for depth)."""

    @property
    def depth_order(self) -> np.ndarray:
        """(K,) indices into the instance arrays, nearest first."""
        return np.argsort(self.depths, kind="stable")

    def id_image(self) -> np.ndarray:
        """(H, W) uint16 image of instance ids of the visible masks, 0 = background."""
        out = np.zeros(self.image.shape[:2], np.uint16)
        for instance_id, mask in zip(self.ids, self.instance_masks, strict=True):
            out[mask] = instance_id
        return out


def mask_boxes(masks: np.ndarray) -> np.ndarray:
    """(K, 4) float32 tight boxes of (K, H, W) bool masks; x2, y2 exclusive, empty -> zeros."""
    k = masks.shape[0]
    boxes = np.zeros((k, 4), np.float32)
    if k == 0:
        return boxes
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    present = rows.any(axis=1)
    h, w = masks.shape[1:]
    y1, x1 = rows.argmax(axis=1), cols.argmax(axis=1)
    y2, x2 = h - rows[:, ::-1].argmax(axis=1), w - cols[:, ::-1].argmax(axis=1)
    boxes[present] = np.stack([x1, y1, x2, y2], axis=1)[present]
    return boxes


def build_scene(
    image: np.ndarray,
    ids: np.ndarray,
    visible: np.ndarray,
    amodal: np.ndarray,
    depths: np.ndarray,
    full_areas: np.ndarray,
    instances: tuple[InstanceInfo, ...],
    depth: np.ndarray | None,
) -> Scene:
    """Assemble a `Scene`, deriving boxes and fractions from the masks so they always agree."""
    areas = np.maximum(np.asarray(full_areas, np.float32), 1)
    visible_fraction = np.minimum(np.count_nonzero(visible, axis=(1, 2)) / areas, 1)
    in_frame_fraction = np.minimum(np.count_nonzero(amodal, axis=(1, 2)) / areas, 1)
    return Scene(
        image=image,
        ids=np.asarray(ids, np.int32),
        instance_masks=visible,
        amodal_masks=amodal,
        boxes=mask_boxes(visible),
        depths=np.asarray(depths, np.float32),
        visible_fraction=visible_fraction.astype(np.float32),
        in_frame_fraction=in_frame_fraction.astype(np.float32),
        instances=instances,
        depth=depth,
    )
