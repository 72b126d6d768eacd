"""Overlay drawing shared by the node, the demo and debugging tools: instance masks in colour.

Colours are stable per id (golden-ratio hue steps), so one object keeps its colour across frames
and neighbouring ids get clearly different hues.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

GOLDEN_RATIO_CONJUGATE = 0.618033988749895


def id_colors(ids: np.ndarray | list[int]) -> np.ndarray:
    """(N, 3) uint8 colours (RGB order) for instance ids; id 0 (background) is black."""
    colors = np.zeros((len(ids), 3), np.uint8)
    for k, instance_id in enumerate(ids):
        if instance_id:
            hue = (int(instance_id) * GOLDEN_RATIO_CONJUGATE) % 1.0
            colors[k] = np.round(np.array(colorsys.hsv_to_rgb(hue, 0.8, 0.95)) * 255)
    return colors


def draw_instances(
    image: np.ndarray,
    id_image: np.ndarray,
    boxes: np.ndarray | None = None,
    ids: np.ndarray | list[int] | None = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """A copy of `image` with every instance of `id_image` tinted and outlined in its colour.

    `image` is uint8 (H, W, 3) (or (H, W) mono, drawn as grey); `id_image` (H, W) integer ids with
    0 = background. Optional `boxes` (N, 4) x1, y1, x2, y2 (x2, y2 exclusive) are drawn with the
    matching `ids` as labels. Colours are RGB: pass an RGB image (or swap the result for BGR).
    """
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image.copy()
    present = np.unique(id_image)
    present = present[present != 0]
    if present.size:
        palette = np.zeros((int(present.max()) + 1, 3), np.uint8)
        palette[present] = id_colors(present)
        tint = palette[id_image]
        blended = cv2.addWeighted(out, 1 - alpha, tint, alpha, 0)
        np.copyto(out, blended, where=(id_image != 0)[..., None])
        for instance_id, color in zip(present, palette[present], strict=True):
            mask = (id_image == instance_id).astype(np.uint8)
            contours, _ = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(out, contours, -1, color.tolist(), 1)
    if boxes is not None and len(boxes):
        labels = list(ids) if ids is not None else list(range(1, len(boxes) + 1))
        for box, label, color in zip(boxes, labels, id_colors(labels), strict=True):
            x1, y1, x2, y2 = (round(float(v)) for v in box)
            if x2 <= x1 or y2 <= y1:
                continue
            cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), color.tolist(), 1)
            cv2.putText(
                out,
                str(label),
                (x1 + 2, max(y1 - 3, 10)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                color.tolist(),
                1,
                cv2.LINE_AA,
            )
    return out


def contact_sheet(
    images: list[np.ndarray], columns: int, labels: list[str] | None = None, width: int = 320
) -> np.ndarray:
    """Tile uint8 RGB images (each resized to `width` wide, same aspect) into one image.

    For eyeballing many scenes or frames at once; `labels` are written in each tile's corner.
    """
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    height = round(images[0].shape[0] * width / images[0].shape[1])
    tiles = [cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA) for image in images]
    for tile, label in zip(tiles, labels or [], strict=False):
        cv2.putText(
            tile, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA
        )
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)
