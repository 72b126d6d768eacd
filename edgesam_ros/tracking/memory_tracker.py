"""Memory-based tracking with EdgeTAM: the `MemoryTracker`, same interface as `Tracker`.

Where `Tracker` re-prompts a memory-free segmenter every frame, this drives EdgeTAM's four
graphs (:class:`edgesam_ros.engine.edgetam.EdgeTamRuntime`) the way upstream's video predictor
does, online, with each object's memory in numpy (:mod:`.memory_bank`):

* a prompted frame (``add``, or ``refine`` later) is a *conditioning* frame for that object:
  decoded from its points/box (box corners first, then points, as upstream) on the raw
  features plus ``no_mem_embed`` for a new object, on memory-conditioned features for a
  refined one; its memory is encoded from the binarised mask;
* every other frame is decoded with no prompt (upstream's padding point) on features
  conditioned on the object's memory, and encoded with the sigmoid of its mask;
* mask choice as upstream: with at most one prompt point (so always when tracking) the best of
  the three multimask outputs by predicted IoU, whose token becomes the object pointer; with
  more points (a box counts two) output 0, falling back to the best multimask output when its
  stability (logits beyond +-0.05) is below 0.98, pointer always from token 0;
* occlusion: an object score <= 0 empties the mask (and its memory sees an empty mask) and the
  decoder mixes in the learned no-object pointer; the object stays, reported with no mask and
  status ``occluded``, until removed.

Objects are batched: one memory-attention call per group of objects with equal (memory
frames, pointers), one decoder call per group with equal prompt length, one memory-encoder
call for all, each at most ``max_batch`` objects. Results do not depend on batch-mates.

Differences from upstream, and why: frames arrive one by one and objects can be added, refined
and removed at any time (upstream fixes objects before propagating); conditioning frames are
capped per object (``max_conditioning_frames``, upstream keeps every one forever); a refinement
is a new conditioning frame decoded on the memory-conditioned features without a mask prompt
(the exported decoder has no mask input); masks are independent per object (no non-overlap
constraint, off upstream by default too). Small holes are filled as upstream does on a GPU
(its CUDA extension; skipped upstream on CPU), with OpenCV here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from edgesam_ros.engine.batching import chunks, grouped_chunks
from edgesam_ros.engine.edgetam import EdgeTamRuntime, FrameFeatures
from edgesam_ros.engine.postprocess import stability_scores
from edgesam_ros.engine.types import MaskResult

from .config import TrackerConfig
from .memory_bank import ObjectMemory
from .objects import FrameResult, Source, State, TrackedObject, UserPrompt
from .requests import RequestLedger, bounds_problem, merged_refinement
from .tracker import Tracker

#: Upstream's NO_OBJ_SCORE: logits of an object predicted absent.
NO_OBJECT_LOGIT = -1024.0
#: Upstream's dynamic multimask fallback (build_sam video predictor overrides).
STABILITY_DELTA = 0.05
STABILITY_THRESHOLD = 0.98


@dataclass(frozen=True)
class MemoryConfig:
    """Settings of the memory mode (the `tracker.memory.*` node parameters)."""

    #: Conditioning (prompted) frames kept per object, most recent first; upstream keeps all.
    max_conditioning_frames: int = 4
    #: Most objects per graph call (bounds GPU memory and the TensorRT profiles).
    max_batch: int = 16
    #: Background regions of at most this many low-res pixels inside a mask are filled
    #: (upstream video predictor's `fill_hole_area`, done there by a CUDA extension); 0 = off.
    fill_hole_area: int = 8

    def __post_init__(self) -> None:
        if self.max_conditioning_frames < 1 or self.max_batch < 1 or self.fill_hole_area < 0:
            raise ValueError("max_conditioning_frames and max_batch must be at least 1, "
                             "fill_hole_area at least 0")


@dataclass
class _Object:
    id: int
    label: str
    track: bool
    born: int
    memory: ObjectMemory
    prompt: UserPrompt | None  # pending add/refine for the next frame
    last_box: np.ndarray = field(default_factory=lambda: np.zeros(4))


@dataclass
class _Job:
    """One object's work on one frame."""

    obj: _Object
    coords: np.ndarray  # [N, 2] S-frame
    labels: np.ndarray  # [N]
    conditioning: bool
    source: Source = Source.PROPAGATED  # the prompt's source on a conditioning frame
    features: np.ndarray | None = None  # [C, h, w], None: raw features + no_mem_embed
    logits: np.ndarray | None = None  # chosen [4h, 4w], gated, holes filled (the output)
    memory_logits: np.ndarray | None = None  # what the memory encoder is given
    pointer: np.ndarray | None = None
    iou: float = 0.0
    score: float = 0.0

    @property
    def multimask(self) -> bool:
        return int((self.labels != -1).sum()) <= 1


def fill_holes(logits: np.ndarray, max_area: int) -> np.ndarray:
    """``logits`` with every 8-connected background region (logits <= 0) of at most
    ``max_area`` pixels set to 0.1, as upstream's ``fill_holes_in_mask_scores``."""
    if max_area <= 0:
        return logits
    background = (logits <= 0).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=8)
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] <= max_area)
    small = small[small > 0]  # label 0 is the foreground
    if len(small) == 0:
        return logits
    return np.where(np.isin(labels, small), np.float32(0.1), logits)


def choose_output(masks: np.ndarray, ious: np.ndarray, multimask: bool) -> tuple[int, int]:
    """(mask index, pointer index) among the decoder's 4 outputs, as upstream chooses."""
    best = 1 + int(np.argmax(ious[1:]))
    if multimask:
        return best, best
    inner = int((masks[0] > STABILITY_DELTA).sum())
    outer = int((masks[0] > -STABILITY_DELTA).sum())
    stable = inner / outer if outer > 0 else 1.0
    return (0 if stable >= STABILITY_THRESHOLD else best), 0


class MemoryTracker(RequestLedger):
    """Owns objects and their memories across frames (see the module docstring)."""

    def __init__(self, runtime: EdgeTamRuntime, config: TrackerConfig | None = None,
                 memory: MemoryConfig | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.config = config or TrackerConfig()
        self.memory_config = memory or MemoryConfig()
        self._objects: dict[int, _Object] = {}
        self._frame = -1

    # ------------------------------------------------------------------ requests

    @property
    def ids(self) -> list[int]:
        return list(self._objects)

    def add(self, prompt: UserPrompt) -> int:
        """Start an object on the next frame; its id, or 0 if refused (see `rejected`)."""
        object_id = self._claim_id(prompt)
        if not object_id:
            return 0
        rt = self.runtime
        self._objects[object_id] = _Object(
            object_id, prompt.label, prompt.track, self._frame + 1,
            ObjectMemory(self.memory_config.max_conditioning_frames, rt.num_maskmem,
                         rt.max_obj_ptrs), prompt)
        return object_id

    def refine(self, object_id: int, points: object = (), labels: object = (),
               box: object | None = None) -> bool:
        """Prompt an object again on the next frame (a new conditioning frame); prompts sent
        before that frame are merged, a later box replacing an earlier one."""
        obj = self._objects.get(object_id)
        prompt = self._refinement(object_id, obj is not None, points, labels, box)
        if prompt is None:
            return False
        obj.prompt = merged_refinement(obj.prompt, prompt)
        return True

    def remove(self, object_id: int, reason: str = "removed by request") -> bool:
        """Forget an object and its memory now; reported removed by the next step."""
        obj = self._objects.pop(object_id, None)
        if obj is None:
            self._reject("remove", object_id, None, "unknown object id")
            return False
        self._removed.append(self._view(obj, None, State.REMOVED, Source.USER, reason))
        return True

    def clear(self) -> None:
        for object_id in list(self._objects):
            self.remove(object_id, "cleared")

    def memory_usage(self) -> dict[int, tuple[int, int, int]]:
        """Per object: (bytes, memory frames, pointers) held now; bounded by the config."""
        return {i: (o.memory.nbytes(), *o.memory.counts()) for i, o in self._objects.items()}

    # ------------------------------------------------------------------ one frame

    def step(self, engine: EdgeTamRuntime | None = None, image: np.ndarray | None = None,
             embedding: FrameFeatures | None = None) -> FrameResult:
        """Segment every object on a new frame. ``engine`` defaults to the tracker's runtime
        (the argument keeps `Tracker.step`'s signature); ``embedding`` may be given as the
        runtime's `FrameFeatures` of ``image``."""
        start = time.perf_counter()
        runtime = engine or self.runtime
        if embedding is None:
            if image is None:
                raise ValueError("step needs an image or an embedding")
            embedding = runtime.encode(image)
        encode_ms = (time.perf_counter() - start) * 1e3
        self._frame += 1
        size = embedding.original_size
        jobs = self._plan(size)
        decode_start = time.perf_counter()
        self._condition(runtime, embedding, jobs)
        self._decode(runtime, embedding, jobs)
        self._remember(runtime, embedding, jobs)
        decode_ms = (time.perf_counter() - decode_start) * 1e3
        views = [self._result(job, size) for job in jobs]
        for job in jobs:
            if not job.obj.track:  # one-frame objects are forgotten silently
                del self._objects[job.obj.id]
        removed, self._removed = self._removed, []
        rejected, self._rejected = self._rejected, []
        total_ms = (time.perf_counter() - start) * 1e3
        return FrameResult(self._frame, size, views, removed, rejected, encode_ms, decode_ms,
                           total_ms - encode_ms - decode_ms)

    def _plan(self, size: tuple[int, int]) -> list[_Job]:
        jobs = []
        h, w = size
        s = self.runtime.image_size
        scale = np.array([s / w, s / h], np.float32)
        for obj in list(self._objects.values()):
            prompt, obj.prompt = obj.prompt, None
            problem = bounds_problem(prompt, size) if prompt is not None else ""
            if problem and obj.memory.empty:
                del self._objects[obj.id]
                self._refuse_first_prompt(obj.id, prompt, problem)
                continue
            if problem:
                self._reject("refine", obj.id, prompt, problem)
                prompt = None
            if prompt is None:
                jobs.append(_Job(obj, np.zeros((1, 2), np.float32), np.full(1, -1.0), False))
                continue
            coords, labels = prompt.points * scale, prompt.labels.astype(np.float32)
            if prompt.box is not None:
                coords = np.concatenate([prompt.box.reshape(2, 2) * scale, coords])
                labels = np.concatenate([[2.0, 3.0], labels])
            jobs.append(_Job(obj, coords.astype(np.float32), labels.astype(np.float32), True,
                             prompt.source))
        return jobs

    def _condition(self, runtime: EdgeTamRuntime, frame: FrameFeatures, jobs: list[_Job]) -> None:
        """Memory attention for every object that has memory, batched by (F, P)."""
        wanted = [(job, job.obj.memory.inputs(self._frame)) for job in jobs
                  if not job.obj.memory.empty]
        for batch in grouped_chunks(wanted, lambda item: item[1].key,
                                    self.memory_config.max_batch):
            out = runtime.condition(frame, np.stack([m.memory for _, m in batch]),
                                    np.stack([m.tpos for _, m in batch]),
                                    np.stack([m.pointers for _, m in batch]))
            for (job, _), features in zip(batch, out, strict=True):
                job.features = features

    def _decode(self, runtime: EdgeTamRuntime, frame: FrameFeatures, jobs: list[_Job]) -> None:
        for batch in grouped_chunks(jobs, lambda job: len(job.labels),
                                    self.memory_config.max_batch):
            raw = frame.vision_features[0]
            features = np.stack([raw if j.features is None else j.features for j in batch])
            no_memory = np.array([j.features is None for j in batch], np.float32)
            out = runtime.decode(frame, features, no_memory,
                                 np.stack([j.coords for j in batch]),
                                 np.stack([j.labels for j in batch]))
            for i, job in enumerate(batch):
                chosen, token = choose_output(out.masks[i], out.ious[i], job.multimask)
                job.iou = float(out.ious[i, chosen])
                job.score = float(out.scores[i])
                job.pointer = out.pointers[i, token]
                logits = out.masks[i, chosen]
                if job.score <= 0:
                    logits = np.full_like(logits, NO_OBJECT_LOGIT)
                job.logits = fill_holes(logits, self.memory_config.fill_hole_area)
                # upstream encodes a prompted frame's filled mask, a tracked frame's raw one
                job.memory_logits = job.logits if job.conditioning else logits

    def _remember(self, runtime: EdgeTamRuntime, frame: FrameFeatures, jobs: list[_Job]) -> None:
        for batch in chunks(jobs, self.memory_config.max_batch):
            memory = runtime.encode_memory(frame, np.stack([j.memory_logits for j in batch]),
                                           np.array([j.conditioning for j in batch], np.float32))
            for job, mem in zip(batch, memory, strict=True):
                job.obj.memory.add(self._frame, mem, job.pointer, job.conditioning)

    def _result(self, job: _Job, size: tuple[int, int]) -> TrackedObject:
        obj = job.obj
        state = State.NEW if obj.born == self._frame else State.TRACKED
        source = job.source
        if job.score <= 0:
            return self._view(obj, None, state, source, f"occluded (object score "
                              f"{job.score:.2f} <= 0)", job)
        h, w = size
        full = cv2.resize(job.logits, (w, h), interpolation=cv2.INTER_LINEAR) > 0
        ys, xs = np.nonzero(full)
        if len(ys) == 0:
            return self._view(obj, None, state, source, "empty mask", job)
        x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        stability = float(stability_scores(job.logits, 0.0, 1.0))  # reported, not used to decide
        mask = MaskResult((x1, y1, x2, y2), full[y1:y2, x1:x2].copy(), job.iou, stability,
                          len(ys), job.logits)
        obj.last_box = np.array([x1, y1, x2, y2], np.float64)
        return self._view(obj, mask, state, source, "", job)

    def _view(self, obj: _Object, mask: MaskResult | None, state: State, source: Source,
              status: str, job: _Job | None = None) -> TrackedObject:
        box = np.asarray(mask.box, np.float64) if mask is not None else obj.last_box
        return TrackedObject(id=obj.id, label=obj.label, state=state, source=source,
                             age=self._frame - obj.born, mask=mask, box=box,
                             stability=mask.stability if mask is not None else 0.0,
                             iou_prediction=job.iou if job is not None else 0.0, status=status)



def make_tracker(engine: object, config: TrackerConfig, memory: MemoryConfig | None = None
                 ) -> Tracker | MemoryTracker:
    """The tracker an engine calls for: `MemoryTracker` for EdgeTAM's graphs (an
    `EdgeTamRuntime`), the memory-free `Tracker` for any segmenter (EdgeSAM, the oracle)."""
    if isinstance(engine, EdgeTamRuntime):
        return MemoryTracker(engine, config, memory)
    return Tracker(config)
