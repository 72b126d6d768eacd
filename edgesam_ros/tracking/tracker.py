"""Prompt propagation across frames for a memory-free segmenter: the `Tracker`.

EdgeSAM segments one frame at a time. The tracker owns the objects and, for every frame, writes
each object's prompt from its history (see `prompts`), decodes all of them in ONE
`engine.decode(embedding, prompts)` call, and decides what to believe (see `gating`).

Public API::

    tracker = Tracker(TrackerConfig())
    object_id = tracker.add(UserPrompt(box=[x1, y1, x2, y2], label="cup"))  # 0 if rejected
    tracker.refine(object_id, points=[[x, y]], labels=[1])  # merged into the next frame's prompt
    tracker.remove(object_id)
    tracker.clear()
    result = tracker.step(engine, image)             # encodes the image itself, or
    result = tracker.step(engine, image, embedding)  # with an embedding already computed
    result.objects, result.removed, result.rejected, result.id_image()

Requests (`add`, `refine`, `remove`) take effect on the next `step`; anything refused is returned
once in that step's `FrameResult.rejected` with its reason, never dropped silently. Ids start at
1 and are never reused within a run: a requested id that was ever used is refused.

Life cycle per object: `new` on its first frame -> `tracked` while masks are accepted (a frame
whose mask is rejected or occluded leaves the state `tracked` with `mask=None` and the reason in
`status`) -> `lost` after `lost_after` consecutive misses -> `removed` after `keep_alive` lost
frames (longer, `keep_alive_outside`, when it was lost at the image border), or by request.
With `reacquire` on, an object is searched for from its first miss on: around its predicted and
its last seen position, with the RPN proposals there or boxes tiling the region, all in the
frame's one decode call; a search result must look like the object and must not be an object
followed on this frame.
One-frame objects (`UserPrompt.track=False`) appear as `new` on their frame and are then
forgotten without a `removed` entry. Auto mode (`TrackerConfig.auto`) starts objects from the
engine's RPN proposals where nothing is tracked yet.

The image is needed only for appearance (hue/saturation histograms: a propagated mask must
still look like its object, a re-acquired one must look like the lost object); without it the
tracker relies on position and size alone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edgesam_ros.engine.types import Embedding, MaskResult, Prompt

from .config import TrackerConfig
from .gating import (
    Candidate,
    DepthOrder,
    appearance_histogram,
    appearance_similarity,
    box_iou,
    implausibility,
    resolve_overlaps,
    subtract,
    touches_border,
)
from .motion import BoxKalman
from .objects import FrameResult, Source, State, Track, TrackedObject, UserPrompt
from .prompts import (
    box_centre,
    box_is_empty,
    clip_box,
    mask_core,
    predicted_core,
    propagated_prompt,
    reacquire_prompts,
    search_region,
)
from .requests import (
    RequestLedger,
    bounds_problem,
    merged_refinement,
)


class Engine(Protocol):
    """What the tracker needs from `edgesam_ros.engine.SamEngine` (the test fake has the same)."""

    def encode(self, image: np.ndarray) -> Embedding: ...

    def decode(self, embedding: Embedding, prompts: Sequence[Prompt]) -> list[MaskResult]: ...


@dataclass
class _Job:
    """One prompt of the frame's decode call and what it is for."""

    kind: str  # "user" (first frame / refinement), "track", "search", "new"
    prompt: Prompt
    track: Track | None = None
    source: Source = Source.PROPAGATED


class Tracker(RequestLedger):
    """Owns objects across frames and propagates their prompts (see the module docstring)."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        super().__init__()
        self.config = config or TrackerConfig()
        self._tracks: dict[int, Track] = {}
        self._frame = -1
        self._depth = DepthOrder(self.config)

    # ------------------------------------------------------------------ requests

    @property
    def ids(self) -> list[int]:
        """Ids of the objects alive now (in the order they were added)."""
        return list(self._tracks)

    def add(self, prompt: UserPrompt) -> int:
        """Start an object on the next frame; returns its id, or 0 if refused (see `rejected`)."""
        object_id = self._claim_id(prompt)
        if not object_id:
            return 0
        self._tracks[object_id] = Track(
            id=object_id,
            label=prompt.label,
            track=prompt.track,
            first_prompt=prompt,
            born=self._frame + 1,
        )
        return object_id

    def refine(
        self,
        object_id: int,
        points: object = (),
        labels: object = (),
        box: object | None = None,
    ) -> bool:
        """Add points / replace the box of an object's prompt on the next frame."""
        track = self._tracks.get(object_id)
        prompt = self._refinement(object_id, track is not None, points, labels, box)
        if prompt is None:
            return False
        track.refine = merged_refinement(track.refine, prompt)
        return True

    def remove(self, object_id: int, reason: str = "removed by request") -> bool:
        """Forget an object now; it is reported as removed by the next step and never returns."""
        track = self._tracks.get(object_id)
        if track is None:
            self._reject("remove", object_id, None, "unknown object id")
            return False
        self._removed.append(self._drop(track, Source.USER, reason))
        return True

    def clear(self) -> None:
        """Remove every object (ids stay used)."""
        for object_id in list(self._tracks):
            self.remove(object_id, "cleared")

    # ------------------------------------------------------------------ one frame

    def step(
        self,
        engine: Engine,
        image: np.ndarray | None = None,
        embedding: Embedding | None = None,
    ) -> FrameResult:
        """Segment every object on a new frame (encoding `image` unless `embedding` is given)."""
        start = time.perf_counter()
        encode_ms = 0.0
        if embedding is None:
            if image is None:
                raise ValueError("step needs an image or an embedding")
            embedding = engine.encode(image)
            encode_ms = (time.perf_counter() - start) * 1e3
        self._frame += 1
        size = tuple(embedding.original_size)
        self._check_user_prompts(size)
        jobs, misses = self._plan(embedding, size, engine)

        decode_start = time.perf_counter()
        results = engine.decode(embedding, [job.prompt for job in jobs]) if jobs else []
        decode_ms = (time.perf_counter() - decode_start) * 1e3

        views = self._update(jobs, results, misses, image, size)
        removed, self._removed = self._removed, []
        rejected, self._rejected = self._rejected, []
        total_ms = (time.perf_counter() - start) * 1e3
        return FrameResult(
            frame_index=self._frame,
            image_size=size,
            objects=views,
            removed=removed,
            rejected=rejected,
            encode_ms=encode_ms,
            decode_ms=decode_ms,
            tracker_ms=total_ms - encode_ms - decode_ms,
        )

    def _check_user_prompts(self, size: tuple[int, int]) -> None:
        """Refuse first prompts and refinements that do not fit this frame."""
        for track in list(self._tracks.values()):
            if track.born == self._frame:
                problem = bounds_problem(track.first_prompt, size)
                if problem:
                    del self._tracks[track.id]
                    self._refuse_first_prompt(track.id, track.first_prompt, problem)
                    continue
            if track.refine is not None:
                problem = bounds_problem(track.refine, size)
                if problem:
                    self._reject("refine", track.id, track.refine, problem)
                    track.refine = None

    def _plan(
        self, embedding: Embedding, size: tuple[int, int], engine: Engine
    ) -> tuple[list[_Job], dict[int, str]]:
        """Predict every object and write the frame's prompts; also objects that get none."""
        config = self.config
        info = getattr(engine, "info", None)
        mask_input = bool(getattr(info, "has_mask_input", False))
        for track in self._tracks.values():
            if track.motion is not None:
                predicted = track.motion.predict()
                track.predicted = predicted if config.use_motion else self._mask_box(track)
                if track.state is State.LOST:
                    track.predicted = self._lost_prediction(track, size)
        visible = [t for t in self._tracks.values() if t.core is not None and t.state != State.LOST]
        cores = np.array([predicted_core(t) for t in visible], np.float32).reshape(-1, 2)
        core_ids = np.array([t.id for t in visible], np.int64)
        followed = np.array([t.predicted for t in visible if t.misses == 0], np.float32)

        jobs: list[_Job] = []
        misses: dict[int, str] = {}
        for track in self._tracks.values():
            if track.mask is None or track.refine is not None:
                prompt = propagated_prompt(track, cores, core_ids, config, size, mask_input)
                jobs.append(_Job("user", self._clipped(prompt, size), track, Source.USER))
                continue
            if track.state is State.LOST:
                misses[track.id] = "lost"
            else:
                prompt = propagated_prompt(track, cores, core_ids, config, size, mask_input)
                if prompt is None:
                    misses[track.id] = "predicted outside the image"
                else:
                    jobs.append(_Job("track", prompt, track))
            # The search starts with the first miss, not only once the object is lost: an
            # object that turned while hidden for a frame or two is found without delay.
            if config.reacquire and (track.state is State.LOST or track.misses > 0):
                source = Source.PROPAGATED if embedding.proposals is None else Source.PROPOSAL
                proposals = embedding.proposals
                for prompt in reacquire_prompts(
                    track, proposals, followed.reshape(-1, 4), config, size
                ):
                    jobs.append(_Job("search", prompt, track, source))
        if config.auto:
            jobs += self._proposal_jobs(embedding, size)
        return jobs, misses

    @staticmethod
    def _lost_prediction(track: Track, size: tuple[int, int]) -> np.ndarray:
        """Where to look for a lost object: at its full size (not the shrunk box it was lost
        with), and never beyond the image: an object that left the frame comes back where it
        left, so its prediction waits at the border instead of drifting away."""
        centre = box_centre(track.predicted)
        inside = np.clip(centre, 0, [size[1], size[0]])
        if np.any(inside != centre):
            track.motion.velocity[:2] = 0.0
            track.motion.position[:2] = inside
        return np.concatenate([inside - track.extent / 2, inside + track.extent / 2])

    @staticmethod
    def _clipped(prompt: Prompt, size: tuple[int, int]) -> Prompt:
        if prompt.box is None:
            return prompt
        return dataclasses.replace(prompt, box=clip_box(prompt.box, size))

    @staticmethod
    def _mask_box(track: Track) -> np.ndarray:
        return np.asarray(track.mask.box, np.float64)

    def _proposal_jobs(self, embedding: Embedding, size: tuple[int, int]) -> list[_Job]:
        """Box prompts for the best proposals not already covered by an object's box."""
        proposals = embedding.proposals
        room = self.config.max_objects - len(self._tracks)
        if proposals is None or room <= 0 or len(proposals.boxes) == 0:
            return []
        known = [t.last_box() for t in self._tracks.values()]
        jobs = []
        for index in np.argsort(-proposals.scores):
            if proposals.scores[index] < self.config.min_proposal_score:
                break
            box = clip_box(proposals.boxes[index], size)
            limit = self.config.max_proposal_iou
            if box_is_empty(box) or any(box_iou(box, k) > limit for k in known):
                continue
            prompt = Prompt(
                points=np.zeros((0, 2), np.float32),
                labels=np.zeros(0, np.int32),
                box=box,
                mask_input=None,
            )
            jobs.append(_Job("new", prompt, source=Source.PROPOSAL))
            if len(jobs) == min(room, self.config.max_new_per_frame):
                break
        return jobs

    def _update(
        self,
        jobs: list[_Job],
        results: list[MaskResult],
        misses: dict[int, str],
        image: np.ndarray | None,
        size: tuple[int, int],
    ) -> list[TrackedObject]:
        """Gate the decoded masks, resolve overlaps, and move every object's state on."""
        config = self.config
        candidates: dict[int, Candidate] = {}
        sources: dict[int, Source] = {}
        prompt_boxes: dict[int, np.ndarray | None] = {}
        histograms: dict[int, np.ndarray | None] = {}
        searched: set[int] = set()
        new_results: list[MaskResult] = []
        for job, result in zip(jobs, results, strict=True):
            track = job.track
            if job.kind == "new":
                new_results.append(result)
                continue
            histogram = None
            if job.kind == "user":
                problem = "empty mask" if result.area < config.min_area else ""
                confidence = result.stability
            elif job.kind == "track":
                problem, histogram = self._track_match(track, result, image, size)
                # How well the mask continues this object: a mask that jumped onto a neighbour
                # matches the neighbour's size and place, not this object's prediction.
                ratio = result.area / max(track.mask.area, 1)
                agreement = box_iou(np.asarray(result.box, np.float64), track.predicted)
                confidence = result.stability * min(ratio, 1 / max(ratio, 1e-6)) * agreement
            else:
                problem, confidence, histogram = self._search_match(track, result, image, size)
                best = candidates.get(track.id)
                # A propagated mask that passed the gates beats any search result.
                if best is not None and (track.id not in searched or confidence <= best.confidence):
                    continue
                searched.add(track.id)
            if problem:
                if job.kind != "search":  # a lost object's status stays "lost"
                    misses[track.id] = problem
                continue
            misses.pop(track.id, None)
            candidates[track.id] = Candidate(track.id, result, job.kind == "user", confidence)
            sources[track.id] = job.source
            prompt_boxes[track.id] = job.prompt.box if job.kind == "track" else None
            histograms[track.id] = histogram
        self._drop_followed(candidates, searched)

        kept, occluded = resolve_overlaps(
            list(candidates.values()), self._depth, config, self._frame
        )
        views = []
        for track in list(self._tracks.values()):
            if track.id in kept and track.id not in occluded:
                found = track.id in searched  # a jump the motion model must not smooth towards
                self._accept(track, kept[track.id], image, histograms[track.id], found)
                track.prompt_box = prompt_boxes[track.id]
                views.append(self._view(track, track.mask, sources[track.id], ""))
            else:
                reason = misses.get(track.id, "")
                if track.id in occluded:
                    reason = f"occluded by {occluded[track.id]}"
                views.append(self._miss(track, reason, size))
            if not track.track and track.state is not State.REMOVED:  # one-frame: once only
                del self._tracks[track.id]
                self._depth.forget(track.id)
        views += self._start_from_proposals(new_results, [v.mask for v in views if v.mask], image)
        return [v for v in views if v.state is not State.REMOVED]

    def _drop_followed(self, candidates: dict[int, Candidate], searched: set[int]) -> None:
        """Drop search candidates that are mostly an object followed on this frame: the lost
        object may look like it, but those pixels already have an owner (no identity theft)."""
        followed = [c.result for i, c in candidates.items() if i not in searched]
        limit = 1.0 - self.config.max_search_overlap
        for object_id in searched & candidates.keys():
            result = candidates[object_id].result
            if subtract(result, followed).area < limit * result.area:
                del candidates[object_id]

    def _appearance(
        self, track: Track, result: MaskResult, image: np.ndarray | None
    ) -> tuple[str, float, np.ndarray | None]:
        """(problem or "", similarity, histogram) of a mask against the object's colours; with
        appearance off or nothing to compare, ("", 1, None)."""
        config = self.config
        if not config.use_appearance or image is None or track.histogram is None:
            return "", 1.0, None
        histogram = appearance_histogram(image, result, config)
        # The running histogram follows the accepted masks, and an imperfect model's masks take
        # in some background each time: the first mask's colours (from the user's own prompt)
        # still vouch for the object after that drift (benchmark, bundled model: J&F 0.557 ->
        # 0.587, seeds 100-107 0.574 -> 0.579).
        similarity = max(
            appearance_similarity(track.histogram, histogram),
            appearance_similarity(track.first_histogram, histogram),
        )
        if similarity < config.min_appearance:
            return f"appearance {similarity:.2f} < {config.min_appearance:.2f}", 0.0, histogram
        return "", similarity, histogram

    def _track_match(
        self, track: Track, result: MaskResult, image: np.ndarray | None, size: tuple[int, int]
    ) -> tuple[str, np.ndarray | None]:
        """Is a propagated mask still the object? (problem or "", its histogram if computed).

        A mask that shrank a lot is taken as a partial view only if its colours are the
        object's; without appearance it is a miss.
        """
        config = self.config
        settled = track.motion.settled or not config.use_motion
        problem, shrunk = implausibility(
            result, track.mask, track.reference_area, track.predicted, settled, config, size
        )
        if problem:
            return problem, None
        problem, _, histogram = self._appearance(track, result, image)
        if shrunk and histogram is None:
            problem = f"area shrank x{result.area / max(track.mask.area, 1):.2f}"
        return problem, histogram

    def _search_match(
        self, track: Track, result: MaskResult, image: np.ndarray | None, size: tuple[int, int]
    ) -> tuple[str, float, np.ndarray | None]:
        """Is a search result the lost object? (problem or "", match quality, histogram)."""
        config = self.config
        if result.area < config.min_area or result.stability < config.min_stability:
            return "no plausible mask in the search area", 0.0, None
        region = search_region(track, config)
        centre = box_centre(np.asarray(result.box, np.float32))
        if np.any(centre < region[:2]) or np.any(centre >= region[2:]):
            return "candidate outside the search area", 0.0, None
        ratio = result.area / max(track.reference_area, 1.0)
        # Without appearance nothing tells a partial view of the object from a stray blob.
        low = config.search_min_area_ratio if config.use_appearance else config.min_area_ratio
        if touches_border(result.box, size):
            low = 0.0
        if not low <= ratio <= config.max_area_ratio:
            return f"candidate area x{ratio:.2f}", 0.0, None
        problem, similarity, histogram = self._appearance(track, result, image)
        return problem, similarity * result.stability, histogram

    def _accept(
        self,
        track: Track,
        result: MaskResult,
        image: np.ndarray | None,
        histogram: np.ndarray | None,
        found: bool,
    ) -> None:
        """Take `result` as the object's mask on this frame (`found`: by a search)."""
        box = np.asarray(result.box, np.float64)
        if track.motion is None:
            track.motion = BoxKalman(box, self.config)
        elif found or track.refine is not None:
            track.motion.reset(box)  # a jump we should not smooth towards
        else:
            partial = result.area < self.config.partial_visibility * track.reference_area
            track.motion.update(box, learn_velocity=not partial)
        track.mask = result
        track.core = mask_core(result)
        track.core_box = box.astype(np.float32)
        decay = self.config.reference_decay
        size = box[2:] - box[:2]
        track.extent = size if track.extent is None else np.maximum(size, track.extent * decay)
        track.reference_area = max(float(result.area), track.reference_area * decay)
        if self.config.use_appearance and image is not None:
            if histogram is None:
                histogram = appearance_histogram(image, result, self.config)
            if track.histogram is None or track.refine is not None:  # first or corrected mask
                track.histogram = histogram
                track.first_histogram = histogram
            else:
                a = self.config.appearance_update
                track.histogram = (1 - a) * track.histogram + a * histogram
        track.misses = 0
        track.lost_frames = 0
        track.refine = None
        track.state = State.NEW if self._frame == track.born else State.TRACKED

    def _miss(self, track: Track, reason: str, size: tuple[int, int]) -> TrackedObject:
        """No mask this frame: coast, become lost, or run out of keep-alive."""
        config = self.config
        track.refine = None
        track.misses += 1
        if track.motion is not None:
            track.motion.coast()
        if track.state is State.LOST:
            track.lost_frames += 1
            keep_alive = config.keep_alive_outside if track.left_view else config.keep_alive
            if track.lost_frames > keep_alive:
                reason = f"lost for more than {keep_alive} frames"
                view = self._drop(track, Source.PROPAGATED, reason)
                self._removed.append(view)
                return view
        elif track.misses >= config.lost_after:
            track.state = State.LOST
            track.left_view = track.mask is not None and touches_border(track.mask.box, size)
            reason = f"lost after {track.misses} misses ({reason})"
        source = Source.USER if track.mask is None else Source.PROPAGATED
        return self._view(track, None, source, reason)

    def _start_from_proposals(
        self, results: list[MaskResult], taken: list[MaskResult], image: np.ndarray | None
    ) -> list[TrackedObject]:
        """New objects from proposal masks lying mostly outside every existing mask."""
        config = self.config
        views = []
        for result in results:
            if len(self._tracks) >= config.max_objects:
                break
            if result.area < config.min_new_area or result.stability < config.min_stability:
                continue
            free = subtract(result, taken)
            if free.area < config.min_outside_share * result.area or free.area < config.min_area:
                continue
            object_id = self._new_id()
            self._used_ids.add(object_id)
            track = Track(
                id=object_id,
                label="",
                track=True,
                first_prompt=UserPrompt(
                    box=np.asarray(result.box, np.float32), source=Source.PROPOSAL
                ),
                born=self._frame,
            )
            self._tracks[object_id] = track
            self._accept(track, free, image, None, False)
            taken.append(free)
            views.append(self._view(track, free, Source.PROPOSAL, ""))
        return views

    # ------------------------------------------------------------------ helpers

    def _drop(self, track: Track, source: Source, reason: str) -> TrackedObject:
        """Forget a track for good; returns its `removed` view."""
        del self._tracks[track.id]
        self._depth.forget(track.id)
        track.state = State.REMOVED
        return self._view(track, None, source, reason)

    def _view(
        self, track: Track, mask: MaskResult | None, source: Source, status: str
    ) -> TrackedObject:
        box = np.asarray(mask.box, np.float64) if mask is not None else track.last_box()
        return TrackedObject(
            id=track.id,
            label=track.label,
            state=track.state,
            source=source,
            age=self._frame - track.born,
            mask=mask,
            box=box,
            stability=mask.stability if mask is not None else 0.0,
            iou_prediction=mask.iou_prediction if mask is not None else 0.0,
            status=status,
        )
