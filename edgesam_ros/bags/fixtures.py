"""`edgesam-ros make-bag`: a camera bag rendered from a procedural sequence, with ground truth.

The bag is what a robot's camera driver would record (raw rgb8 images, optionally image_transport
compressed images and a 32FC1 depth image in metres, and camera_info), plus optional prompt
messages: one `ObjectPromptArray` per frame on which objects first become visible, holding a box
per such object (the object's ground-truth id is the requested id, so results can be scored
without matching). The exact per-frame id images go into the bag directory (`groundtruth`).
Deterministic: the same options give the same bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgesam_ros.scenes import Scene, generate_sequence, sequence_preset
from edgesam_ros.scenes import Sequence as SceneSequence

from .errors import BagError, run_cli
from .groundtruth import GroundTruth
from .images import (
    CAMERA_INFO,
    COMPRESSED,
    COMPRESSIONS,
    IMAGE,
    camera_info_message,
    compressed_message,
    header,
    image_message,
)
from .storage import LATCHED_QOS, SENSOR_QOS, STORAGES, BagWriter
from .typestore import message_class

IMAGE_TOPIC = "/camera/image_raw"
COMPRESSED_TOPIC = "/camera/image_raw/compressed"
CAMERA_INFO_TOPIC = "/camera/camera_info"
DEPTH_TOPIC = "/camera/depth/image_raw"
PROMPTS_TOPIC = "/edgesam/prompts"
PROMPTS_TYPE = "edgesam_ros/msg/ObjectPromptArray"
FRAME_ID = "camera_optical_frame"
#: Bag start time: a fixed instant keeps fixtures byte-identical from run to run.
START_NS = 1_700_000_000 * 1_000_000_000
#: Prompts are logged this long before the image their header stamp names: the node holds a
#: prompt stamped ahead of its newest image until that image arrives, so it lands on exactly
#: the frame whose ground-truth box it carries (live and offline alike). 20 ms lets the
#: prompt callback run before the image is processed (the two subscriptions race otherwise).
PROMPT_LEAD_NS = 20_000_000


@dataclass(frozen=True)
class FixtureOptions:
    """What goes into a fixture bag (None = the preset's value)."""

    preset: str = "demo"
    seed: int = 0
    frames: int | None = None
    size: tuple[int, int] | None = None  # (width, height)
    fps: float = 10.0
    storage: str = "sqlite3"
    compressed: str | None = None  # "png" or "jpeg": also write CompressedImage
    depth: bool = False
    prompts: bool = False
    min_prompt_area: int = 150
    """An object is prompted on the first frame where it shows at least this many pixels..."""
    min_prompt_visible: float = 0.6
    """...and at least this share of its silhouette (not a sliver entering the image)."""
    horizontal_fov_deg: float = 60.0


def _sequence(options: FixtureOptions) -> SceneSequence:
    try:
        config = sequence_preset(options.preset).config
    except KeyError as error:
        raise BagError(str(error.args[0])) from None
    changes: dict[str, object] = {"with_depth": options.depth}
    if options.frames is not None:
        changes["num_frames"] = options.frames
    if options.size is not None:
        changes["width"], changes["height"] = options.size
    return generate_sequence(options.seed, dataclasses.replace(config, **changes))


def _prompt_message(scene: Scene, ids: list[int], stamp: object) -> object:
    """ObjectPromptArray adding each of `ids` with its ground-truth box as the requested id."""
    prompt = message_class("edgesam_ros/msg/ObjectPrompt")
    prompts = []
    for object_id in ids:
        k = int(np.flatnonzero(scene.ids == object_id)[0])
        prompts.append(
            prompt(
                header=stamp, action=0, object_id=object_id, label=scene.instances[k].shape,
                points=[], has_box=True, box=scene.boxes[k].astype(np.float32), track=True,
            )
        )
    return message_class(PROMPTS_TYPE)(header=stamp, prompts=prompts)


def _declare_topics(writer: BagWriter, options: FixtureOptions) -> None:
    writer.add_topic(IMAGE_TOPIC, IMAGE, SENSOR_QOS)
    writer.add_topic(CAMERA_INFO_TOPIC, CAMERA_INFO, SENSOR_QOS)
    if options.compressed:
        writer.add_topic(COMPRESSED_TOPIC, COMPRESSED, SENSOR_QOS)
    if options.depth:
        writer.add_topic(DEPTH_TOPIC, IMAGE, SENSOR_QOS)
    if options.prompts:
        # Transient local: a segment node started after the bag still gets the first prompts.
        writer.add_topic(PROMPTS_TOPIC, PROMPTS_TYPE, LATCHED_QOS._replace(depth=100))


def _write_camera(writer: BagWriter, scene: Scene, stamp_ns: int, options: FixtureOptions) -> None:
    """One frame of every camera topic, all stamped `stamp_ns`."""
    stamp = header(stamp_ns, FRAME_ID)
    height, width = scene.image.shape[:2]
    writer.write(IMAGE_TOPIC, stamp_ns, image_message(scene.image, "rgb8", stamp))
    info = camera_info_message(height, width, stamp, options.horizontal_fov_deg)
    writer.write(CAMERA_INFO_TOPIC, stamp_ns, info)
    if options.compressed:
        message = compressed_message(scene.image, options.compressed, stamp)
        writer.write(COMPRESSED_TOPIC, stamp_ns, message)
    if options.depth:
        depth = image_message(scene.depth.astype(np.float32), "32FC1", stamp)
        writer.write(DEPTH_TOPIC, stamp_ns, depth)


def _ready(scene: Scene, options: FixtureOptions) -> list[int]:
    """Ids of the objects visible enough on this frame to be prompted."""
    areas = scene.instance_masks.sum(axis=(1, 2))
    ready = (areas >= options.min_prompt_area) & (
        scene.visible_fraction >= options.min_prompt_visible
    )
    return [int(i) for i in scene.ids[ready]]


def make_bag(out: Path, options: FixtureOptions, overwrite: bool = False) -> GroundTruth:
    """Write the fixture bag `out` and return its ground truth (also saved inside `out`)."""
    if options.compressed not in (None, *COMPRESSIONS):
        raise BagError(f"unknown compression {options.compressed!r}; use png or jpeg")
    sequence = _sequence(options)
    period_ns = round(1e9 / options.fps)
    first_frames: dict[int, tuple[int, list[float]]] = {}  # id -> (frame, box) of its prompt
    id_images, stamps = [], []
    out.parent.mkdir(parents=True, exist_ok=True)  # `make-bag runs/today/cam` as mkdir -p would
    with BagWriter(out, options.storage, overwrite) as writer:
        _declare_topics(writer, options)
        for t, scene in enumerate(sequence):
            stamp_ns = START_NS + t * period_ns
            new = [i for i in _ready(scene, options) if i not in first_frames]
            for object_id in new:
                k = int(np.flatnonzero(scene.ids == object_id)[0])
                first_frames[object_id] = (t, scene.boxes[k].tolist())
            if options.prompts and new:
                message = _prompt_message(scene, new, header(stamp_ns, FRAME_ID))
                writer.write(PROMPTS_TOPIC, stamp_ns - PROMPT_LEAD_NS, message)
            _write_camera(writer, scene, stamp_ns, options)
            id_images.append(scene.id_image())
            stamps.append(stamp_ns)
        truth = GroundTruth(
            np.stack(id_images), np.array(stamps, np.int64), _index(sequence, options, first_frames)
        )
        truth.save(writer.directory)
    return truth


def _index(
    sequence: SceneSequence, options: FixtureOptions, first: dict[int, tuple[int, list[float]]]
) -> dict:
    """The JSON side of the ground truth: topics, objects and measured events."""
    events = sequence.events
    topics = {"image": IMAGE_TOPIC, "camera_info": CAMERA_INFO_TOPIC}
    if options.compressed:
        topics["compressed"] = COMPRESSED_TOPIC
    if options.depth:
        topics["depth"] = DEPTH_TOPIC
    if options.prompts:
        topics["prompts"] = PROMPTS_TOPIC
    objects = [
        {
            "id": int(object_id),
            "shape": info.shape,
            "texture": info.texture,
            "prompt_frame": first[int(object_id)][0] if int(object_id) in first else None,
            "prompt_box": first[int(object_id)][1] if int(object_id) in first else None,
        }
        for object_id, info in zip(sequence.ids, sequence.instances, strict=True)
    ]
    return {
        "options": dataclasses.asdict(options),
        "frames": len(sequence),
        "topics": topics,
        "objects": objects,
        "events": {
            "occlusions": [dataclasses.asdict(e) for e in events.occlusions],
            "absences": [dataclasses.asdict(e) for e in events.absences],
            "crossings": [dataclasses.asdict(c) for c in events.crossings],
        },
    }


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros make-bag", description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="bag directory to create")
    p.add_argument("--preset", default="demo", help="sequence preset (edgesam_ros.scenes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, help="number of frames (default: the preset's)")
    p.add_argument("--size", type=_size, help="WIDTHxHEIGHT (default: the preset's)")
    p.add_argument("--fps", type=float, default=10.0, help="camera rate (default 10)")
    p.add_argument("--storage", choices=sorted(STORAGES), default="sqlite3")
    p.add_argument("--compressed", nargs="?", const="png", choices=sorted(COMPRESSIONS),
                   help="also write sensor_msgs/CompressedImage (png unless given)")
    p.add_argument("--depth", action="store_true", help="also write a 32FC1 depth image")
    p.add_argument("--prompts", action="store_true",
                   help=f"also write a box prompt per object on {PROMPTS_TOPIC}")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = FixtureOptions(
        preset=args.preset, seed=args.seed, frames=args.frames, size=args.size, fps=args.fps,
        storage=args.storage, compressed=args.compressed, depth=args.depth, prompts=args.prompts,
    )

    def body() -> int:
        truth = make_bag(args.out, options, args.overwrite)
        frames, height, width = truth.id_images.shape
        print(
            f"wrote {args.out} ({options.storage}): {frames} frames {width}x{height} at "
            f"{options.fps:g} fps, objects {truth.ids}, ground truth inside"
        )
        return 0

    return run_cli("make-bag", body)
