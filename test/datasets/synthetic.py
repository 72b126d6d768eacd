"""Segmented bags written directly, without a model, so every mask, label and state is known.

12 frames of 96x72 at 10 fps. Frame 0 has no object. Object 1 ("mug") is a ring (a hole in the
middle) moving right; object 2 (no label: class "object") has two separate parts; object 3
("bottle") is tracked on frames 3-5, lost on frame 6 and removed on frame 7; a prompt is rejected
on frame 2. The background brightens until frame 8, after which nothing changes (frames 8-11
are identical), for the `--min-change` checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgesam_ros.bags.images import COMPRESSED, IMAGE, compressed_message, header, image_message
from edgesam_ros.bags.storage import RELIABLE_QOS, SENSOR_QOS, BagWriter
from edgesam_ros.bags.typestore import message_class

WIDTH, HEIGHT, FRAMES = 96, 72, 12
START_NS, PERIOD_NS = 1_700_000_000 * 10**9, 100_000_000
IMAGE_TOPIC, SEGMENTATION_TOPIC = "/camera/image_raw", "/edgesam/segmentation"
COMPRESSED_TOPIC = "/camera/image_raw/compressed"
SEGMENTATION = "edgesam_ros/msg/SegmentationArray"
NEW, TRACKED, LOST, REMOVED, REJECTED = range(5)
COLORS = {1: (200, 30, 30), 2: (30, 200, 30), 3: (30, 30, 200)}


@dataclass(frozen=True)
class Obj:
    id: int
    label: str
    state: int
    mask: np.ndarray  # full-size bool; all False when the object shows no mask
    box: tuple[int, int, int, int] = (0, 0, 0, 0)  # x, y, w, h of a lost object's prediction

    @property
    def kept(self) -> bool:
        return self.state in (NEW, TRACKED) and bool(self.mask.any())


@dataclass(frozen=True)
class Scene:
    rgb: np.ndarray
    objects: list[Obj]


def rect(x: int, y: int, w: int, h: int) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[y:y + h, x:x + w] = True
    return mask


def ring(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Object 1 on frame t: the ring, and its outline filled (what a polygon can hold)."""
    x = 4 + 3 * min(t, 8)
    outer = rect(x, 6, 18, 16)
    return outer & ~rect(x + 6, 11, 6, 5), outer


def two_parts() -> tuple[np.ndarray, np.ndarray]:
    return rect(8, 44, 10, 10), rect(30, 46, 8, 12)


def scene(t: int) -> Scene:
    objects = []
    if t >= 1:
        objects.append(Obj(1, "mug", NEW if t == 1 else TRACKED, ring(t)[0]))
        left, right = two_parts()
        objects.append(Obj(2, "", NEW if t == 1 else TRACKED, left | right))
    bottle = rect(60, 30, 12, 30)
    if 3 <= t <= 5:
        objects.append(Obj(3, "bottle", NEW if t == 3 else TRACKED, bottle))
    elif t == 6:
        objects.append(Obj(3, "bottle", LOST, np.zeros_like(bottle), box=(61, 30, 12, 30)))
    elif t == 7:
        objects.append(Obj(3, "bottle", REMOVED, np.zeros_like(bottle)))
    if t == 2:
        objects.append(Obj(0, "cup", REJECTED, np.zeros_like(bottle)))
    rgb = np.full((HEIGHT, WIDTH, 3), 40 + 10 * min(t, 8), np.uint8)
    for obj in objects:
        rgb[obj.mask] = COLORS.get(obj.id, 0)
    return Scene(rgb, objects)


def stamp(t: int) -> int:
    return START_NS + t * PERIOD_NS


def _object_message(obj: Obj) -> object:
    roi = message_class("sensor_msgs/msg/RegionOfInterest")
    if obj.mask.any():
        ys, xs = np.nonzero(obj.mask)
        x, y, w, h = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        crop = obj.mask[y:y + h, x:x + w].astype(np.uint8).reshape(-1)
    else:
        (x, y, w, h), crop = obj.box, np.zeros(0, np.uint8)
    return message_class("edgesam_ros/msg/ObjectSegmentation")(
        id=obj.id, label=obj.label, state=obj.state, source=0, predicted_iou=0.9,
        stability_score=0.9,
        box=roi(x_offset=int(x), y_offset=int(y), height=int(h), width=int(w), do_rectify=False),
        area=int(obj.mask.sum()), mask=crop, status_message="",
    )


def segmentation_message(t: int, objects: list[Obj]) -> object:
    return message_class(SEGMENTATION)(
        header=header(stamp(t), "camera"), height=HEIGHT, width=WIDTH,
        objects=[_object_message(o) for o in objects], encoder_ms=0.0, decoder_ms=0.0,
        total_ms=0.0,
    )


@dataclass(frozen=True)
class BagSpec:
    """How the results sit in the bag (the defaults: as `segment-bag` writes them)."""

    results: bool = True  # False: a camera bag that was never segmented
    objects: bool = True  # False: every result is empty
    result_delay_ns: int = 0  # results logged this long after their image (a live recording)
    dropped: frozenset[int] = field(default_factory=frozenset)  # frames without a result
    compressed: bool = False  # also the frames as png CompressedImage on COMPRESSED_TOPIC


def write_bag(path: Path, spec: BagSpec = BagSpec()) -> Path:
    with BagWriter(path, "sqlite3") as writer:
        writer.add_topic(IMAGE_TOPIC, IMAGE, SENSOR_QOS)
        if spec.compressed:
            writer.add_topic(COMPRESSED_TOPIC, COMPRESSED, SENSOR_QOS)
        if spec.results:
            writer.add_topic(SEGMENTATION_TOPIC, SEGMENTATION, RELIABLE_QOS)
        for t in range(FRAMES):
            frame = scene(t)
            writer.write(IMAGE_TOPIC, stamp(t),
                         image_message(frame.rgb, "rgb8", header(stamp(t), "camera")))
            if spec.compressed:
                writer.write(COMPRESSED_TOPIC, stamp(t),
                             compressed_message(frame.rgb, "png", header(stamp(t), "camera")))
            if spec.results and t not in spec.dropped:
                objects = frame.objects if spec.objects else []
                writer.write(SEGMENTATION_TOPIC, stamp(t) + spec.result_delay_ns,
                             segmentation_message(t, objects))
    return path


def kept(t: int) -> list[Obj]:
    """The objects of frame t a dataset holds."""
    return [o for o in scene(t).objects if o.kept]
