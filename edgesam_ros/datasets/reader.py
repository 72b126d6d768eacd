"""The frames of a segmented bag: each image with the objects of its SegmentationArray.

Results are matched to images by header stamp (a SegmentationArray carries its image's header),
so this works for bags written by `segment-bag` (result logged with its image) as well as for live
recordings of the node (`ros2 bag record`), where a result is logged a little after its image
and the node skipped the frames it was too slow for.

Two passes: `survey` reads only the segmentation topic (stamps, class names, track ids), so the
frames to export are known before any image is decoded; `frames` then streams images and
results together and pairs them, holding only images and results that wait for their partner
(at most `MAX_PENDING` of each; what is given up is counted, never dropped silently).

Only objects in state new or tracked with a non-empty mask become instances: lost objects carry
a predicted box and no mask, removed and rejected ones are no object on that frame.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from rosbags.interfaces import Connection
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import CompressedImage, Image

from edgesam_ros.bags.decode import IMAGE_CLASSES, SEGMENTATION, decode
from edgesam_ros.bags.errors import BagError
from edgesam_ros.bags.storage import read_messages, topic_connections
from edgesam_ros.msg import ObjectSegmentation, SegmentationArray
from edgesam_ros.ros import convert
from edgesam_ros.ros.messages import stamp_ns

#: The class of objects whose prompt gave no label.
UNLABELLED = "object"
#: Images (and results) waiting for their partner; beyond this the oldest is given up.
MAX_PENDING = 64
KEPT_STATES = (ObjectSegmentation.STATE_NEW, ObjectSegmentation.STATE_TRACKED)
STATE_NAMES = {
    ObjectSegmentation.STATE_NEW: "new",
    ObjectSegmentation.STATE_TRACKED: "tracked",
    ObjectSegmentation.STATE_LOST: "lost",
    ObjectSegmentation.STATE_REMOVED: "removed",
    ObjectSegmentation.STATE_REJECTED: "rejected",
}


@dataclass(frozen=True)
class Instance:
    """One object on one frame."""

    track_id: int
    label: str  # class name; UNLABELLED when the object's prompt had none
    mask: np.ndarray  # bool (H, W), full image size


@dataclass(frozen=True)
class Frame:
    stamp_ns: int
    rgb: np.ndarray  # uint8 (H, W, 3)
    instances: tuple[Instance, ...]


@dataclass
class Survey:
    """What the segmentation topic holds, before any image is read."""

    objects_per_stamp: dict[int, int] = field(default_factory=dict)  # stamp -> instances
    classes: list[str] = field(default_factory=list)  # in order of first appearance
    max_track_id: int = 0


@dataclass
class ReadCounts:
    """What the reading gave up on, and why (shown in the run's summary)."""

    left_out: Counter[str] = field(default_factory=Counter)  # objects, by reason
    frames_dropped: Counter[str] = field(default_factory=Counter)  # frames, by reason


def class_name(label: str) -> str:
    """The class an object's label puts it in (whitespace runs, newlines included, made one
    space, so a name is always one line of a class list)."""
    return " ".join(label.split()) or UNLABELLED


def segmentation_connections(reader: Reader, topic: str | None) -> list[Connection]:
    """The SegmentationArray topic: `topic`, or the bag's only one; BagError otherwise."""
    if topic is not None:
        return topic_connections(reader, topic, (SEGMENTATION,))
    found = [c for c in reader.connections if c.msgtype == SEGMENTATION]
    topics = sorted({c.topic for c in found})
    if not topics:
        raise BagError(
            f"{reader.path} has no {SEGMENTATION} topic: segment it first "
            "(edgesam-ros segment-bag IN OUT)"
        )
    if len(topics) > 1:
        raise BagError(f"{reader.path} has several segmentation topics ({', '.join(topics)}): "
                       "choose one with --segmentation-topic")
    return found


def _kept(obj: ObjectSegmentation) -> bool:
    return obj.state in KEPT_STATES and obj.area > 0


def survey(reader: Reader, connections: list[Connection]) -> Survey:
    """Pass 1: every result's stamp and instance count, the class names and the largest id."""
    found = Survey()
    seen = set()
    for connection, timestamp, data in read_messages(reader, connections):
        result = decode(reader, connection, timestamp, data, SegmentationArray)
        kept = [o for o in result.objects if _kept(o)]
        found.objects_per_stamp.setdefault(stamp_ns(result.header), len(kept))
        for obj in kept:
            name = class_name(obj.label)
            if name not in seen:
                seen.add(name)
                found.classes.append(name)
            found.max_track_id = max(found.max_track_id, int(obj.id))
    return found


def _full_mask(obj: ObjectSegmentation, height: int, width: int) -> np.ndarray | None:
    """The object's (H, W) bool mask (the recipe of ObjectSegmentation.msg); None if malformed."""
    b = obj.box
    x, y, w, h = int(b.x_offset), int(b.y_offset), int(b.width), int(b.height)
    if x + w > width or y + h > height or len(obj.mask) != w * h:
        return None
    full = np.zeros((height, width), bool)
    full[y:y + h, x:x + w] = np.frombuffer(bytes(obj.mask), np.uint8).reshape(h, w) > 0
    return full


def instances(result: SegmentationArray, counts: ReadCounts) -> tuple[Instance, ...]:
    """The result's objects that are on the frame; the others are counted by reason."""
    found = []
    for obj in result.objects:
        if not _kept(obj):
            reason = "empty mask" if obj.state in KEPT_STATES else STATE_NAMES.get(
                obj.state, f"state {obj.state}")
            counts.left_out[reason] += 1
            continue
        mask = _full_mask(obj, int(result.height), int(result.width))
        if mask is None:
            counts.left_out["mask outside the image or of the wrong length"] += 1
            continue
        found.append(Instance(int(obj.id), class_name(obj.label), mask))
    return tuple(found)


def _rgb(msg: Image | CompressedImage) -> np.ndarray:
    image, color = convert.message_to_engine_image(msg)
    return convert.to_rgb(image, color)


def _bound(pending: OrderedDict) -> None:
    """Give up the oldest waiting messages beyond MAX_PENDING (counted at the end as unpaired)."""
    while len(pending) > MAX_PENDING:
        pending.popitem(last=False)


def frames(
    reader: Reader,
    images: list[Connection],
    results: list[Connection],
    wanted: set[int],
    counts: ReadCounts,
) -> Iterator[Frame]:
    """Pass 2: the frames whose stamps are `wanted`, in log order, images paired with results."""
    image_ids, wanted = {c.id for c in images}, set(wanted)
    waiting: dict[bool, OrderedDict[int, object]] = {True: OrderedDict(), False: OrderedDict()}
    for connection, timestamp, data in read_messages(reader, images + results):
        is_image = connection.id in image_ids
        msg_class = IMAGE_CLASSES[connection.msgtype] if is_image else SegmentationArray
        msg = decode(reader, connection, timestamp, data, msg_class)
        stamp = stamp_ns(msg.header)
        if stamp not in wanted:
            continue
        partner = waiting[not is_image].pop(stamp, None)
        if partner is None:  # wait for it (images and results may come in either order)
            waiting[is_image].setdefault(stamp, msg)
            _bound(waiting[is_image])
            continue
        wanted.discard(stamp)  # a second image or result with this stamp is not another frame
        image, result = (msg, partner) if is_image else (partner, msg)
        frame = _pair(image, result, counts)
        if frame is not None:
            yield frame
    if wanted:
        reason = (f"result without its image (missing, or more than {MAX_PENDING} frames "
                  "apart in the bag)")
        counts.frames_dropped[reason] += len(wanted)


def _pair(
    msg: Image | CompressedImage, result: SegmentationArray, counts: ReadCounts
) -> Frame | None:
    """The frame of an image and its result; None (counted) when the two do not fit."""
    try:
        rgb = _rgb(msg)
    except convert.ImageError:
        counts.frames_dropped["unreadable image"] += 1
        return None
    if rgb.shape[:2] != (int(result.height), int(result.width)):
        counts.frames_dropped["result size differs from its image"] += 1
        return None
    return Frame(stamp_ns(msg.header), rgb, instances(result, counts))


def image_connections(reader: Reader, topic: str) -> list[Connection]:
    """The camera topic (raw or compressed); BagError naming the bag's image topics if absent."""
    if not any(c.topic == topic for c in reader.connections):
        listed = sorted({c.topic for c in reader.connections if c.msgtype in IMAGE_CLASSES})
        raise BagError(f"image topic {topic} is not in {reader.path} (image topics: "
                       f"{', '.join(listed) or 'none'}); choose one with --image-topic")
    return topic_connections(reader, topic, tuple(IMAGE_CLASSES))
