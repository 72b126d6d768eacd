"""YOLO segmentation in the Ultralytics layout: `images/<split>/`, `labels/<split>/`, `data.yaml`.

One label file per image, one line per object: `class x1 y1 x2 y2 ...`, the polygon's points
divided by the image width and height (pixel-index coordinates, as Ultralytics' own mask to
polygon conversion writes them). A frame without objects gets an empty label file (a negative).

A YOLO polygon is one simple outline per object, so:
- holes cannot be represented: only outer contours are taken (`cv2.RETR_EXTERNAL`), a hole is
  filled;
- an object in several parts (occluded in the middle, say) becomes one polygon whose parts are
  joined by zero-width bridges: each part is linked to the next at their closest points, and the
  outline goes out along the bridge and comes back along it, as Ultralytics' converter merges
  COCO multi-part segments. Filled, the bridge adds at most a one-pixel line.

`data.yaml` holds `path` (the dataset's absolute path; if you move the dataset, change it or
delete it, Ultralytics then takes the file's own directory), `train`, `val` and `names`. Without a
validation split (`--val-fraction 0`), `val` names the training images, as Ultralytics needs one.
"""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np
import yaml

from .images import IMAGE_SUFFIX, frame_stem, write_png
from .layout import DatasetInfo
from .reader import Frame
from .selection import TRAIN, VAL


def outer_contours(mask: np.ndarray) -> list[np.ndarray]:
    """The (N, 2) int32 outer contours of every part of a bool mask."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1, 2) for c in contours]


def _closest(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Indices of the closest pair of points of `a` and `b`."""
    distance = ((a[:, None, :] - b[None, :, :]).astype(np.float64) ** 2).sum(axis=2)
    i, j = np.unravel_index(int(np.argmin(distance)), distance.shape)
    return int(i), int(j)


def join_parts(parts: list[np.ndarray]) -> np.ndarray:
    """One closed outline through every part, consecutive parts joined by zero-width bridges.

    Part i is entered at a_i (the end of the bridge from part i-1) and left at b_i (the start of
    the bridge to part i+1): the outline runs a_0 -> b_0, a_1 -> b_1, ..., around the last part,
    then back along each bridge and around the rest of each part, b_i -> a_i, in reverse order.
    """
    entry, heads, tails = 0, [], []
    for part, following in pairwise(parts):
        exit_, next_entry = _closest(part, following)
        turn = np.roll(part, -entry, axis=0)  # starts at the entry point
        at = (exit_ - entry) % len(part)
        heads.append(turn[:at + 1])
        tails.append(np.vstack([turn[at:], turn[:1]]))
        entry = next_entry
    last = np.roll(parts[-1], -entry, axis=0)
    return np.vstack([*heads, last, last[:1], *reversed(tails)])


def polygon(mask: np.ndarray) -> np.ndarray | None:
    """The object's polygon (N, 2) in pixels; None for an empty mask."""
    parts = outer_contours(mask)
    return join_parts(parts) if parts else None


def label_line(class_index: int, points: np.ndarray, width: int, height: int) -> str:
    normalised = points.astype(np.float64) / (width, height)
    return " ".join([str(class_index), *(f"{v:.6f}" for v in normalised.reshape(-1))])


class YoloWriter:
    def __init__(self, info: DatasetInfo) -> None:
        self.info = info

    def add(self, frame: Frame, split: str, frame_index: int) -> None:
        stem = frame_stem(frame.stamp_ns)
        write_png(self.info.root / "images" / split / (stem + IMAGE_SUFFIX), frame.rgb)
        height, width = frame.rgb.shape[:2]
        lines = []
        for instance in frame.instances:
            points = polygon(instance.mask)
            if points is not None:
                lines.append(label_line(self.info.class_index(instance.label), points, width,
                                        height))
        labels = self.info.root / "labels" / split / f"{stem}.txt"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text("".join(f"{line}\n" for line in lines))

    def finish(self) -> None:
        for kind in ("images", "labels"):  # every split exists, even if no frame fell in it
            for split in self.info.splits:
                (self.info.root / kind / split).mkdir(parents=True, exist_ok=True)
        val = VAL if VAL in self.info.splits else TRAIN
        document = {
            "path": str(self.info.final.resolve()),
            "train": f"images/{TRAIN}",
            "val": f"images/{val}",
            "names": dict(enumerate(self.info.classes)),
        }
        header = f"# edgesam-ros dataset of the bag {self.info.source} (YOLO segmentation)\n"
        (self.info.root / "data.yaml").write_text(
            header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
