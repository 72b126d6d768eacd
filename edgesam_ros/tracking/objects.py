"""The tracker's vocabulary: user prompts in, per-object views and rejections out.

`UserPrompt` mirrors `edgesam_ros/msg/ObjectPrompt.msg` without ROS types so the node converts
field by field; `TrackedObject` and `FrameResult` are immutable snapshots handed to callers, so
nothing outside the tracker can change an object's history by accident. The mutable per-object
state lives in `Track`, which only the tracker touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from edgesam_ros.engine.types import MaskResult

from .motion import BoxKalman


class State(str, Enum):
    """Life cycle of an object (values match the words used in messages and logs)."""

    NEW = "new"  # first frame of the object
    TRACKED = "tracked"  # followed; `TrackedObject.mask` is None on a frame whose mask was rejected
    LOST = "lost"  # `lost_after` consecutive misses; searched for, removed after `keep_alive`
    REMOVED = "removed"  # removed on this frame (prompt, clear, keep-alive); never comes back


class Source(str, Enum):
    """Where this frame's prompt for an object came from."""

    USER = "user"  # a user prompt (add or refine) was applied on this frame
    PROPAGATED = "propagated"  # built from the object's own history
    PROPOSAL = "proposal"  # started or re-acquired from an RPN proposal / search box
    DETECTION = "detection"  # started from a detector box (a UserPrompt with this source)


def _points_array(points: object) -> np.ndarray:
    return np.asarray(points, dtype=np.float32).reshape(-1, 2)


@dataclass(frozen=True)
class UserPrompt:
    """A prompt from outside: start an object (`object_id` 0 = new id) or refine one.

    Points and box are pixels of the frame the prompt is applied to (x right, y down).
    `track=False` segments the object on one frame only (it is not carried to the next frame).
    """

    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    box: np.ndarray | None = None
    label: str = ""
    object_id: int = 0
    track: bool = True
    source: Source = Source.USER

    def __post_init__(self) -> None:
        # Accept lists/tuples from callers; freeze them as arrays of the engine's dtypes.
        object.__setattr__(self, "points", _points_array(self.points))
        object.__setattr__(self, "labels", np.asarray(self.labels, dtype=np.int32).reshape(-1))
        if self.box is not None:
            object.__setattr__(self, "box", np.asarray(self.box, dtype=np.float32).reshape(-1))


@dataclass(frozen=True)
class RejectedPrompt:
    """A user request the tracker refused, and why (reported once, on the next step)."""

    action: str  # "add", "refine" or "remove"
    object_id: int  # the id concerned; for a rejected add, the id it had been given
    prompt: UserPrompt | None
    reason: str


@dataclass(frozen=True)
class TrackedObject:
    """One object on one frame."""

    id: int
    label: str
    state: State
    source: Source
    age: int  # frames since the object was added (0 on its first frame)
    #: This frame's accepted mask cropped to its box, or None (rejected, occluded, lost, removed).
    mask: MaskResult | None
    #: The mask's tight box, else the motion model's prediction; float x1, y1, x2, y2.
    box: np.ndarray
    stability: float  # of this frame's mask, 0 when there is none
    iou_prediction: float
    status: str  # why there is no mask / why the state changed; empty when all is well

    @property
    def area(self) -> int:
        return 0 if self.mask is None else self.mask.area


@dataclass(frozen=True)
class FrameResult:
    """Everything one `Tracker.step` decided."""

    frame_index: int
    image_size: tuple[int, int]  # (H, W)
    objects: list[TrackedObject]  # every object alive after this frame (new, tracked, lost)
    removed: list[TrackedObject]  # objects removed on this frame
    rejected: list[RejectedPrompt]  # user requests refused since the previous step
    encode_ms: float
    decode_ms: float
    tracker_ms: float  # the tracker's own work: prompts, gating, overlaps, bookkeeping

    def id_image(self) -> np.ndarray:
        """(H, W) image: each visible object's id on its pixels, 0 elsewhere.

        uint16 while every id fits, int32 once a long run has used more than 65535 ids (they are
        never reused, so a wider image is the only lossless answer). `Tracker` resolves contested
        pixels, so its masks never overlap; `MemoryTracker`'s may (as upstream EdgeTAM's), and
        then the later object in `objects` wins the pixel.
        """
        visible = [o for o in self.objects if o.mask is not None and o.mask.area]
        wide = any(o.id > np.iinfo(np.uint16).max for o in visible)
        out = np.zeros(self.image_size, dtype=np.int32 if wide else np.uint16)
        for obj in visible:
            x1, y1, x2, y2 = obj.mask.box
            out[y1:y2, x1:x2][obj.mask.mask] = obj.id
        return out


@dataclass
class Track:
    """Mutable history of one object (tracker-internal)."""

    id: int
    label: str
    track: bool  # False: a one-frame object
    first_prompt: UserPrompt
    born: int  # frame index of its first frame
    state: State = State.NEW
    motion: BoxKalman | None = None  # created with the first accepted mask
    mask: MaskResult | None = None  # last accepted mask
    core: np.ndarray | None = None  # (x, y) of the last mask's distance-transform maximum
    core_box: np.ndarray | None = None  # the box the core was measured in (to move it along)
    histogram: np.ndarray | None = None  # appearance of the last good masks
    first_histogram: np.ndarray | None = None  # appearance of its first (or corrected) mask
    extent: np.ndarray | None = None  # reference (w, h): slowly decaying maximum of mask boxes
    reference_area: float = 0.0  # slowly decaying maximum of mask areas
    misses: int = 0  # consecutive frames without an accepted mask
    lost_frames: int = 0  # frames spent in State.LOST
    left_view: bool = False  # it was lost at the image border (it left the field of view)
    refine: UserPrompt | None = None  # pending user refinement for the next frame
    predicted: np.ndarray | None = None  # this frame's predicted box (float x1, y1, x2, y2)
    #: The box the last accepted mask was propagated with (None: found by a search, or a user's)
    prompt_box: np.ndarray | None = None

    def last_box(self) -> np.ndarray:
        """Best current guess of the box: this frame's prediction, else the first prompt's box,
        else zeros (an object added with points only, before its first mask)."""
        if self.predicted is not None:
            return self.predicted
        if self.first_prompt.box is not None:
            return self.first_prompt.box.astype(np.float64)
        return np.zeros(4)
