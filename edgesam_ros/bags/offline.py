"""Offline segmentation of a bag: every frame through the segment node's own frame logic.

Each image of the image topic goes through `Session` (prompt timing, tracker, auto mode) and the
node's result messages (`edgesam_ros.ros.messages`), so the results are those the node would
publish if it kept up with every frame. The output bag holds every input topic plus
`<ns>/segmentation` (SegmentationArray), `<ns>/mask` (mono8/mono16 id image) and `<ns>/overlay`
(rgb8) at their image's log time; optionally an MP4 of the overlays.

Prompts come from the bag (ObjectPromptArray / ObjectPrompt topics; each applied to the image its
header stamp names, as the node does) and/or the caller (applied to the first frame). A first
Ctrl-C stops after the current frame and still leaves a complete, readable bag: every input
message read before the first image not segmented (the last frame keeps its camera_info, depth,
...), plus the results of the frames done. Messages are (de)serialised with rclpy's
serialisation (no DDS involved) so the message classes are the node's; the bag I/O itself is
rosbags'.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from rclpy.serialization import serialize_message
from rosbags.interfaces import Connection
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import CompressedImage, Image
from tqdm import tqdm

from edgesam_ros.engine import SamEngine
from edgesam_ros.msg import ObjectPrompt, ObjectPromptArray
from edgesam_ros.ros import convert, messages
from edgesam_ros.ros.limits import Limits, count_problem
from edgesam_ros.ros.session import PromptRequest, Session, Settings
from edgesam_ros.tracking import TrackerConfig, UserPrompt

from .decode import IMAGE_CLASSES, SEGMENTATION, decode
from .errors import BagError
from .groundtruth import JSON_NAME, NPZ_NAME
from .images import COMPRESSED, IMAGE
from .storage import (
    RELIABLE_QOS,
    BagWriter,
    check_output,
    open_bag,
    read_messages,
    staged_output,
    storage_format,
    topic_connections,
)

PROMPT_TYPES = {
    "edgesam_ros/msg/ObjectPromptArray": (ObjectPromptArray, messages.prompt_array_requests),
    "edgesam_ros/msg/ObjectPrompt": (ObjectPrompt, lambda m: [messages.prompt_request(m)]),
}


@dataclass
class SegmentOptions:
    """Everything `segment` needs besides the engine."""

    image_topic: str = "/camera/image_raw"
    prompt_topics: tuple[str, ...] | None = None  # None: every prompt topic of the bag
    prompts: tuple[UserPrompt, ...] = ()  # command-line prompts, applied to the first frame
    frame_prompts: tuple[tuple[int, UserPrompt], ...] = ()  # (image index, prompt), from a file
    auto: bool = False  # also start objects from proposals
    storage: str | None = None  # None: as the input
    output_ns: str = "/edgesam"
    overlay_alpha: float = 0.5
    mp4: Path | None = None
    overwrite: bool = False
    progress: bool = True
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    limits: Limits = field(default_factory=Limits)  # the node's bounds (`limits.*` parameters)


@dataclass
class SegmentSummary:
    """What a run did; `id_images` (stamp ns -> id image) feed the evaluation."""

    frames: int = 0
    total_frames: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    objects: set[int] = field(default_factory=set)
    rejected: list[str] = field(default_factory=list)
    id_images: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def _prompt_schedule(
    reader: Reader, connections: list[Connection], limits: Limits
) -> tuple[list[tuple[int, PromptRequest]], list[str]]:
    """Every prompt of the bag with the time it is due (its header stamp, else its log time),
    and why each message over `limits.max_prompts` was refused whole, as the node refuses it."""
    schedule, refused = [], []
    for connection, timestamp, data in read_messages(reader, connections):
        msg_class, to_requests = PROMPT_TYPES[connection.msgtype]
        requests = to_requests(decode(reader, connection, timestamp, data, msg_class))
        if problem := count_problem(len(requests), "prompts", limits):
            refused.append(f"the message at {timestamp} ns on {connection.topic}: {problem}")
            continue
        schedule += [(request.stamp_ns or timestamp, request) for request in requests]
    schedule.sort(key=lambda item: item[0])
    return schedule, refused


def _prompt_connections(reader: Reader, topics: tuple[str, ...] | None) -> list[Connection]:
    if topics is None:
        return [c for c in reader.connections if c.msgtype in PROMPT_TYPES]
    return [c for t in topics for c in topic_connections(reader, t, tuple(PROMPT_TYPES))]


def _settings(options: SegmentOptions, has_prompts: bool) -> Settings:
    if not (has_prompts or options.auto):
        raise BagError(
            "nothing to segment: the bag has no prompts; give --prompt, --box, --prompts-file "
            "or --auto"
        )
    mode = ("both" if has_prompts else "auto") if options.auto else "prompt"
    # As the node's parameters do: the tracker starts objects from proposals in the auto modes.
    return Settings(mode=mode, tracker=dataclasses.replace(options.tracker, auto=options.auto),
                    limits=options.limits)


@contextmanager
def _video(path: Path | None, overwrite: bool, fps: float) -> Iterator[Callable]:
    """A frame sink writing an MP4 (mp4v) staged like the bag; a no-op without a path."""
    if path is None:
        yield lambda rgb: None
        return
    with staged_output(path, overwrite) as staged:
        writer: list[cv2.VideoWriter] = []

        def add(rgb: np.ndarray) -> None:
            if not writer:
                size = (rgb.shape[1], rgb.shape[0])
                writer.append(cv2.VideoWriter(str(staged), cv2.VideoWriter_fourcc(*"mp4v"),
                                              fps, size))
            writer[0].write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

        try:
            yield add
        finally:
            if writer:
                writer[0].release()


def _frame_rate(reader: Reader, connections: list[Connection]) -> float:
    """Images per second of the image topic (for the MP4), 10 if it cannot be told."""
    count = sum(c.msgcount for c in connections)
    span = (reader.end_time - reader.start_time) / 1e9
    return (count - 1) / span if count > 1 and span > 0 else 10.0


def segment(
    engine: SamEngine,
    bag: Path,
    out: Path,
    options: SegmentOptions,
    on_frame: Callable[[int], None] | None = None,
) -> SegmentSummary:
    """Segment `bag` into `out` (see the module docstring); `on_frame(n)` after each frame."""
    check_paths(bag, out, options)
    storage = options.storage or storage_format(bag)
    summary = SegmentSummary()
    topics = output_topics(options)
    with open_bag(bag) as reader, ExitStack() as stack:
        images, schedule, settings, refused = inspect_input(reader, options)
        summary.rejected += refused
        session = Session(engine, settings)
        for prompt in options.prompts:
            session.submit(PromptRequest("add", prompt))
        writer = stack.enter_context(BagWriter(out, storage, options.overwrite))
        add_video = stack.enter_context(
            _video(options.mp4, options.overwrite, _frame_rate(reader, images))
        )
        for connection in reader.connections:
            writer.copy_topic(connection)
        writer.add_topic(topics["segmentation"], SEGMENTATION, RELIABLE_QOS)
        writer.add_topic(topics["mask"], IMAGE, RELIABLE_QOS)
        writer.add_topic(topics["overlay"], IMAGE, RELIABLE_QOS)
        summary.total_frames = sum(c.msgcount for c in images)
        frames = _Frames(session, writer, add_video, topics, options.overlay_alpha, summary,
                         _by_frame(options.frame_prompts))
        with _ctrl_c_between_frames() as pressed:
            frames.run(reader, {c.id for c in images}, schedule, options.progress, on_frame,
                       pressed)
        summary.rejected += [f"add for image {k}: the bag has only {summary.frames} images"
                             for k in sorted(frames.frame_prompts) if not summary.interrupted]
        for name in (NPZ_NAME, JSON_NAME):  # ground truth travels with the frames it describes
            if (bag / name).is_file():
                shutil.copy2(bag / name, writer.directory / name)
    return summary


def _by_frame(prompts: tuple[tuple[int, UserPrompt], ...]) -> dict[int, list[UserPrompt]]:
    by_frame: dict[int, list[UserPrompt]] = {}
    for frame, prompt in prompts:
        by_frame.setdefault(frame, []).append(prompt)
    return by_frame


def output_topics(options: SegmentOptions) -> dict[str, str]:
    ns = options.output_ns.rstrip("/")
    return {name: f"{ns}/{name}" for name in ("segmentation", "mask", "overlay")}


def inspect_input(
    reader: Reader, options: SegmentOptions
) -> tuple[list[Connection], list[tuple[int, PromptRequest]], Settings, list[str]]:
    """(image connections, prompt schedule, session settings, refused prompt messages);
    BagError for unusable input."""
    images = topic_connections(reader, options.image_topic, (IMAGE, COMPRESSED))
    if not sum(c.msgcount for c in images):
        raise BagError(f"topic {options.image_topic} of {reader.path} has no messages: "
                       "nothing to segment")
    schedule, refused = _prompt_schedule(reader, _prompt_connections(reader, options.prompt_topics),
                                         options.limits)
    prompted = schedule or refused or options.prompts or options.frame_prompts
    settings = _settings(options, bool(prompted))
    clashing = sorted(set(output_topics(options).values()) & {c.topic for c in reader.connections})
    if clashing:
        raise BagError(f"{reader.path} already has {clashing[0]}: choose another --output-ns")
    return images, schedule, settings, refused


@contextmanager
def _ctrl_c_between_frames() -> Iterator[threading.Event]:
    """The first Ctrl-C only sets the event: the run stops after the current frame and closes
    its outputs properly. A second one raises KeyboardInterrupt at once (outputs discarded)."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def handler(signum: int, frame: object) -> None:
        if pressed.is_set():
            raise KeyboardInterrupt
        pressed.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class _Frames:
    """The frame loop: copy every message, segment the images, write their results."""

    session: Session
    writer: BagWriter
    add_video: Callable[[np.ndarray], None]
    topics: dict[str, str]
    alpha: float
    summary: SegmentSummary
    frame_prompts: dict[int, list[UserPrompt]]  # image index -> prompts; applied ones are popped

    def run(
        self,
        reader: Reader,
        image_ids: set[int],
        schedule: list[tuple[int, PromptRequest]],
        show_progress: bool,
        on_frame: Callable[[int], None] | None,
        stop: threading.Event,
    ) -> None:
        summary = self.summary
        progress = tqdm(total=summary.total_frames, unit="frame", disable=not show_progress,
                        file=sys.stderr)
        started = time.perf_counter()
        stopping = False
        try:
            for connection, timestamp, data in read_messages(reader, reader.connections):
                is_image = connection.id in image_ids
                if stopping and is_image:
                    break  # OUT = the input up to the first frame not segmented, plus results
                self.writer.write_raw(connection.topic, timestamp, data)
                if not is_image:
                    continue
                msg = decode(reader, connection, timestamp, data,
                                   IMAGE_CLASSES[connection.msgtype])
                due = []
                while schedule and schedule[0][0] <= messages.stamp_ns(msg.header):
                    due.append(schedule.pop(0)[1])
                due += [PromptRequest("add", p) for p in self.frame_prompts.pop(summary.frames, ())]
                for request in due:
                    if not self.session.submit(request):  # never silently
                        summary.rejected.append("a prompt dropped: limits.max_pending_prompts "
                                                "prompts already wait for this frame")
                self._frame(msg, timestamp)
                progress.update()
                if on_frame is not None:
                    on_frame(summary.frames)
                if stop.is_set():  # keep the messages logged with or after this frame
                    summary.interrupted = stopping = True
        finally:
            progress.close()
            summary.seconds = time.perf_counter() - started

    def _frame(self, msg: Image | CompressedImage, timestamp: int) -> None:
        start = time.perf_counter()
        outputs = _segment_frame(self.session, msg, self.alpha, self.summary)
        self.add_video(outputs.pop("overlay_rgb"))
        outputs["segmentation"].total_ms = (time.perf_counter() - start) * 1e3
        for name, message in outputs.items():
            self.writer.write_raw(self.topics[name], timestamp, serialize_message(message))
        self.summary.frames += 1


def check_paths(bag: Path, out: Path, options: SegmentOptions) -> None:
    """BagError for outputs that exist (without overwrite) or would replace the input."""
    if out.resolve() == bag.resolve():
        raise BagError(f"{out} is the input bag: write to another path")
    check_output(out, options.overwrite)
    if options.mp4 is not None:
        check_output(options.mp4, options.overwrite)


def _segment_frame(
    session: Session, msg: Image | CompressedImage, alpha: float, summary: SegmentSummary
) -> dict[str, object]:
    """One frame through the session; the output messages by name, plus the overlay pixels."""
    try:
        image, color = convert.message_to_engine_image(
            msg, session.settings.limits, session.engine.info.image_size)
    except convert.ImageError as error:
        raise BagError(f"cannot use an image of the bag: {error}") from None
    outcome = session.process(image, color, messages.stamp_ns(msg.header), msg.header.frame_id)
    ids = outcome.result.id_image()
    overlay = messages.overlay(msg.header, convert.to_rgb(image, color), ids, outcome, alpha)
    summary.id_images[messages.stamp_ns(msg.header)] = ids
    summary.objects.update(o.id for o in outcome.result.objects)
    summary.rejected += [f"{r.action} {r.object_id}: {r.reason}" for r in outcome.rejected]
    return {
        "segmentation": messages.segmentation_array(msg.header, outcome),
        "mask": messages.id_image(msg.header, ids),
        "overlay": overlay,
        "overlay_rgb": np.frombuffer(overlay.data, np.uint8).reshape((*ids.shape, 3)),
    }
