"""The segment node's core side: one engine and one tracker, fed with requests, one frame at a time.

Everything here is ROS-free so the frame logic can be read and tested without a middleware: ROS
callbacks turn messages into the request types below and `submit` them from any thread; the worker
thread alone calls `process`, which applies the requests that are due and segments the frame.

Prompt timing: a prompt naming an image stamp is applied to that frame when it is the one being
processed, waits for it when it has not arrived yet, and is applied to the next frame with a
"late" note when that frame is gone, unless it is older than `max_prompt_age_ns`, then it is
rejected. Stamp 0 means "the next frame". A prompt stamped ahead of the images waits at most
`max_wait_frames` processed frames (image stamps may stop advancing), then applies with a note.
A prompt whose frame_id is set and differs from the image's is rejected (its pixels belong to
another camera).

Bounds (`Limits`): prompts over a limit are rejected with the limit's name, and `submit` refuses
requests once `max_pending_prompts` wait, so callbacks can never grow the queue without bound;
the caller counts and reports what `submit` refused.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from edgesam_ros.engine import Embedding, SamEngine
from edgesam_ros.engine.edgetam import EdgeTamRuntime
from edgesam_ros.grid_proposals import grid_proposals
from edgesam_ros.tracking import (
    FrameResult,
    RejectedPrompt,
    TrackerConfig,
    UserPrompt,
)
from edgesam_ros.tracking.gating import box_iou
from edgesam_ros.tracking.memory_tracker import MemoryConfig, MemoryTracker, make_tracker

from .limits import Limits, prompt_problem

ACTIONS = ("add", "refine", "remove")
MAX_OBJECT_ID = 2**31 - 1  # ids are pixel values of the instance-id image, at most 32SC1


@dataclass(frozen=True)
class PromptRequest:
    """Start (`add`), refine or remove one object; `stamp_ns` names the image (0 = next frame)."""

    action: str
    prompt: UserPrompt
    stamp_ns: int = 0
    frame_id: str = ""  # the camera frame the pixels belong to ("" = any)


@dataclass(frozen=True)
class DetectionRequest:
    """Detector boxes (UserPrompts with source DETECTION) that start objects not yet tracked."""

    prompts: tuple[UserPrompt, ...]
    stamp_ns: int = 0
    frame_id: str = ""


@dataclass(frozen=True)
class ClearRequest:
    """Remove every object on the next frame."""


@dataclass(frozen=True)
class Refusal:
    """A message refused as a whole before it became prompts (reported on the next frame)."""

    action: str
    reason: str


@dataclass(frozen=True)
class Settings:
    """What may change while the node runs (the dynamic parameters)."""

    mode: str = "prompt"
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    auto_interval: int = 10
    grid_points: int = 8
    grid_nms_iou: float = 0.7
    grid_min_stability: float = 0.85
    max_prompt_age_ns: int = 5_000_000_000
    detection_match_iou: float = 0.5
    max_wait_frames: int = 30
    limits: Limits = field(default_factory=Limits)
    #: Memory mode only (an `EdgeTamRuntime` engine); read when the session is created.
    memory: MemoryConfig = field(default_factory=MemoryConfig)


Request = PromptRequest | DetectionRequest | ClearRequest | Refusal | Settings


@dataclass
class FrameOutcome:
    """One processed frame: the tracker's result plus what the session itself decided."""

    result: FrameResult
    rejected: list[RejectedPrompt]  # the session's and the tracker's
    notes: dict[int, str]  # object id -> remark about its prompt on this frame (late, ...)
    prompt_points: np.ndarray  # (N, 3) x, y, label of the prompts applied on this frame
    encode_ms: float
    decode_ms: float


class Session:
    """Requests in, one `FrameOutcome` per processed frame out (see the module docstring)."""

    def __init__(self, engine: SamEngine | EdgeTamRuntime | None, settings: Settings) -> None:
        self._engine = engine
        self.settings = settings
        self.tracker = make_tracker(engine, settings.tracker, settings.memory)
        self._inbox: deque[Request] = deque()  # appended by callbacks, drained by the worker
        self._waiting: list[tuple[Request, int]] = []  # (prompt for a later frame, frames waited)
        self._frame_points: Counter[int] = Counter()  # object id -> points prompted this frame
        self._frames = 0
        self._rejected: list[RejectedPrompt] = []
        self._notes: dict[int, str] = {}
        self._points: list[np.ndarray] = []
        self._last_objects: list = []  # the previous frame's objects (detections match them)
        self.object_count = 0  # written by the worker, read by diagnostics
        self.memory_bytes: int | None = None  # memory mode: largest object memory, likewise

    @property
    def engine(self) -> SamEngine | EdgeTamRuntime | None:
        return self._engine

    @engine.setter
    def engine(self, engine: SamEngine | EdgeTamRuntime | None) -> None:
        """Swap the model (None frees it, as the node's deactivate does). The memory tracker
        holds the EdgeTAM runtime too, so it lets go of it here as well."""
        self._engine = engine
        if isinstance(self.tracker, MemoryTracker):
            self.tracker.runtime = engine

    def submit(self, request: Request) -> bool:
        """Queue a request for the next processed frame (thread-safe); False, and nothing queued,
        when `limits.max_pending_prompts` requests wait already (settings are always taken)."""
        pending = len(self._inbox) + len(self._waiting)
        if pending >= self.settings.limits.max_pending_prompts and not isinstance(
            request, Settings | ClearRequest
        ):
            return False
        self._inbox.append(request)
        return True

    # ------------------------------------------------------------------ requests

    def _due(self, stamp_ns: int) -> list[Request]:
        """Requests to apply on the frame stamped `stamp_ns`, in arrival order."""
        pending, self._waiting = self._waiting, []
        while self._inbox:
            pending.append((self._inbox.popleft(), 0))
        due = []
        for request, waited in pending:
            stamp = getattr(request, "stamp_ns", 0)
            ahead = stamp and 0 < stamp - stamp_ns <= self.settings.max_prompt_age_ns
            if ahead and waited < self.settings.max_wait_frames:
                self._waiting.append((request, waited + 1))
            else:
                due.append(request)
        return due

    def _timing(self, request_stamp_ns: int, stamp_ns: int) -> tuple[str, bool]:
        """(note, rejected) for a prompt stamped `request_stamp_ns` applied on `stamp_ns`."""
        if not request_stamp_ns:
            return "", False
        age = (stamp_ns - request_stamp_ns) / 1e9
        if age > self.settings.max_prompt_age_ns / 1e9:
            return (f"prompt for an image {age:.2f} s older than the current one "
                    f"(prompts.max_age {self.settings.max_prompt_age_ns / 1e9:g} s)"), True
        if age > 0:
            return f"late prompt: made on an image {age:.3f} s older, applied to this one", False
        if age < 0:
            return (f"prompt stamp {-age:.2f} s ahead of the images (no such image within "
                    f"prompts.max_wait_frames = {self.settings.max_wait_frames} frames): applied "
                    "to this one"), False
        return "", False

    def _apply(self, request: Request, stamp_ns: int, frame_id: str) -> None:
        if isinstance(request, Settings):
            self.settings = request
            self.tracker.config = request.tracker
        elif isinstance(request, ClearRequest):
            self.tracker.clear()
        elif isinstance(request, Refusal):
            self._rejected.append(RejectedPrompt(request.action, 0, None, request.reason))
        elif isinstance(request, DetectionRequest):
            self._apply_detections(request, stamp_ns, frame_id)
        else:
            self._apply_prompt(request, stamp_ns, frame_id)

    def _reject(self, action: str, prompt: UserPrompt, reason: str) -> None:
        self._rejected.append(RejectedPrompt(action, prompt.object_id, prompt, reason))

    def _input_problem(self, prompt: UserPrompt, request_frame: str, frame_id: str) -> str:
        """Why a prompt is refused whatever the tracker holds (limits, camera frame), or ""."""
        if request_frame and frame_id and request_frame != frame_id:
            return (f"prompt frame_id {request_frame!r} is not the image's {frame_id!r}: its "
                    "pixels belong to another camera (leave frame_id empty to apply to any)")
        return prompt_problem(prompt, self.settings.limits)

    def _apply_prompt(self, request: PromptRequest, stamp_ns: int, frame_id: str) -> None:
        prompt, action = request.prompt, request.action
        note, too_old = self._timing(request.stamp_ns, stamp_ns)
        if action not in ACTIONS:
            self._reject(str(action), prompt, f"unknown action {action!r}: use add, refine, remove")
            return
        problem = note if too_old else self._input_problem(prompt, request.frame_id, frame_id)
        if not problem and action != "remove":
            total = self._frame_points[prompt.object_id] + len(prompt.points)
            if prompt.object_id and total > self.settings.limits.max_points:
                problem = (f"refinements of object {prompt.object_id} on one frame add up to "
                           f"{total} points > limits.max_points "
                           f"({self.settings.limits.max_points})")
        if problem:
            self._reject(action, prompt, problem)
            return
        if action == "add" and self.settings.mode == "auto":
            self._reject(action, prompt, "mode is auto (proposals only): set mode to both")
            return
        if action == "remove":
            self.tracker.remove(prompt.object_id)
            return
        if action == "add" and prompt.object_id > MAX_OBJECT_ID:
            self._reject(action, prompt, f"object id {prompt.object_id} > {MAX_OBJECT_ID} does "
                         "not fit the 32SC1 id image ~/mask: use a smaller id or 0")
            return
        if action == "add" and len(self.tracker.ids) >= self.tracker.config.max_objects:
            self._reject(action, prompt, f"max_objects ({self.tracker.config.max_objects}) "
                         "objects are tracked already: remove one or raise max_objects")
            return
        if action == "add":
            object_id = self.tracker.add(prompt)
        elif self.tracker.refine(prompt.object_id, prompt.points, prompt.labels, prompt.box):
            object_id = prompt.object_id
        else:
            object_id = 0
        if object_id:
            if note:
                self._notes[object_id] = note
            self._frame_points[object_id] += len(prompt.points)
            self._points.append(np.column_stack([prompt.points, prompt.labels]))

    def _apply_detections(self, request: DetectionRequest, stamp_ns: int, frame_id: str) -> None:
        note, too_old = self._timing(request.stamp_ns, stamp_ns)
        known = [np.asarray(o.box, np.float64) for o in self._last_objects]
        room = self.tracker.config.max_objects - len(self.tracker.ids)
        for prompt in request.prompts:
            problem = self._input_problem(prompt, request.frame_id, frame_id)
            if too_old or problem or self.settings.mode == "auto":
                self._reject("add", prompt, note or problem or "mode is auto (proposals only)")
                continue
            box = np.asarray(prompt.box, np.float64)
            if any(box_iou(box, k) > self.settings.detection_match_iou for k in known):
                continue  # already tracked: the detector keeps seeing the same object
            if room <= 0:
                self._reject("add", prompt, f"max_objects ({self.tracker.config.max_objects}) "
                             "objects are tracked already")
                continue
            if self.tracker.add(prompt):
                room -= 1
                known.append(box)

    # ------------------------------------------------------------------ frames

    def process(
        self, image: np.ndarray, color: str, stamp_ns: int, frame_id: str = ""
    ) -> FrameOutcome:
        """Apply the due requests, then encode and segment `image` (worker thread only)."""
        self._frame_points.clear()
        for request in self._due(stamp_ns):
            self._apply(request, stamp_ns, frame_id)
        start = time.perf_counter()
        embedding = self.engine.encode(image, color)
        encode_ms = (time.perf_counter() - start) * 1e3
        grid_ms = self._add_grid_proposals(embedding)
        result = self.tracker.step(self.engine, image, embedding)
        self._frames += 1
        self._last_objects = result.objects
        self.object_count = len(result.objects)
        if isinstance(self.tracker, MemoryTracker):
            usage = self.tracker.memory_usage().values()
            self.memory_bytes = max((u[0] for u in usage), default=0)
        rejected, self._rejected = self._rejected + result.rejected, []
        notes, self._notes = self._notes, {}
        points, self._points = self._points, []
        return FrameOutcome(
            result=result,
            rejected=rejected,
            notes=notes,
            prompt_points=np.concatenate(points) if points else np.zeros((0, 3), np.float32),
            encode_ms=encode_ms,
            decode_ms=grid_ms + result.decode_ms,
        )

    def _add_grid_proposals(self, embedding: Embedding) -> float:
        """Grid proposals on every `auto_interval`-th frame of auto modes without an RPN head."""
        settings = self.settings
        room = settings.tracker.max_objects - len(self.tracker.ids)
        if (
            settings.mode == "prompt"
            or self.engine.info.has_proposals
            or self._frames % settings.auto_interval
            or room <= 0
        ):
            return 0.0
        start = time.perf_counter()
        embedding.proposals = grid_proposals(
            self.engine, embedding, settings.grid_points, settings.grid_min_stability,
            settings.grid_nms_iou, settings.tracker.min_new_area,
        )
        return (time.perf_counter() - start) * 1e3
