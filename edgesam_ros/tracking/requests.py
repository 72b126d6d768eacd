"""What both trackers do with user requests before any frame: validation, ids, refusals.

`Tracker` (memory-free) and `MemoryTracker` (EdgeTAM) share these rules so a prompt means the
same in both modes: ids start at 1 and are never reused within a run, a malformed prompt is
refused with its reason (reported once, on the next step), and two refinements sent before a
frame are merged.
"""

from __future__ import annotations

import numpy as np

from .objects import RejectedPrompt, TrackedObject, UserPrompt
from .prompts import box_is_empty, clip_box


def prompt_problem(prompt: UserPrompt, need_content: bool) -> str:
    """Why a user prompt is malformed, or "" (image bounds are checked when the frame is known)."""
    if len(prompt.points) != len(prompt.labels):
        return f"{len(prompt.points)} points but {len(prompt.labels)} labels"
    if not np.all(np.isfinite(prompt.points)):
        return "a point is not finite"
    if np.any((prompt.labels != 0) & (prompt.labels != 1)):
        return "point labels must be 0 (background) or 1 (foreground)"
    if prompt.box is not None:
        if prompt.box.shape != (4,) or not np.all(np.isfinite(prompt.box)):
            return "the box must be 4 finite numbers"
        if prompt.box[2] <= prompt.box[0] or prompt.box[3] <= prompt.box[1]:
            return "the box needs x1 < x2 and y1 < y2"
    if need_content and prompt.box is None and not np.any(prompt.labels == 1):
        return "empty prompt: give a box or at least one foreground point"
    if prompt.box is None and len(prompt.points) == 0:
        return "empty prompt: no points and no box"
    return ""


def bounds_problem(prompt: UserPrompt, size: tuple[int, int]) -> str:
    """Why a prompt does not fit an image of size (H, W), or ""."""
    h, w = size
    p = prompt.points
    if np.any((p[:, 0] < 0) | (p[:, 0] >= w) | (p[:, 1] < 0) | (p[:, 1] >= h)):
        return f"a point lies outside the {w}x{h} image"
    if prompt.box is not None and box_is_empty(clip_box(prompt.box, size)):
        return f"the box lies outside the {w}x{h} image"
    return ""


def merged_refinement(pending: UserPrompt | None, prompt: UserPrompt) -> UserPrompt:
    """Two refinements before a frame both count: points add up, a later box replaces one."""
    if pending is None:
        return prompt
    return UserPrompt(
        points=np.concatenate([pending.points, prompt.points]),
        labels=np.concatenate([pending.labels, prompt.labels]),
        box=prompt.box if prompt.box is not None else pending.box,
        object_id=prompt.object_id,
    )


class RequestLedger:
    """Ids in use, and the refusals and removals to report with the next frame."""

    def __init__(self) -> None:
        self._used_ids: set[int] = set()
        self._next_id = 1
        self._rejected: list[RejectedPrompt] = []
        self._removed: list[TrackedObject] = []

    def _claim_id(self, prompt: UserPrompt) -> int:
        """The id of a new object (the requested one if never used, else the next free one),
        or 0 after recording why the first prompt is refused."""
        problem = prompt_problem(prompt, need_content=True)
        if not problem and prompt.object_id in self._used_ids:
            problem = f"id {prompt.object_id} is already used in this run"
        if problem:
            self._reject("add", prompt.object_id, prompt, problem)
            return 0
        object_id = prompt.object_id or self._new_id()
        self._used_ids.add(object_id)
        return object_id

    def _refinement(self, object_id: int, known: bool, points: object, labels: object,
                    box: object | None) -> UserPrompt | None:
        """The refinement of object ``object_id`` (``known``: it is alive), or None after
        recording why it is refused."""
        prompt = UserPrompt(points=points, labels=labels, box=box, object_id=object_id)
        problem = prompt_problem(prompt, need_content=False) if known else "unknown object id"
        if problem:
            self._reject("refine", object_id, prompt, problem)
            return None
        return prompt

    def _new_id(self) -> int:
        while self._next_id in self._used_ids:
            self._next_id += 1
        return self._next_id

    def _refuse_first_prompt(self, object_id: int, prompt: UserPrompt, reason: str) -> None:
        """A new object refused on its first frame: it was never shown, so its id is not
        consumed and the refusal reports the id the prompt asked for (0 for a new one), as the
        message definition says."""
        self._used_ids.discard(object_id)
        self._reject("add", prompt.object_id, prompt, reason)

    def _reject(self, action: str, object_id: int, prompt: UserPrompt | None, reason: str) -> None:
        self._rejected.append(RejectedPrompt(action, object_id, prompt, reason))
