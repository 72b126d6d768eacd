"""One object's memory for EdgeTAM, in numpy, bounded.

What upstream's video predictor keeps per object and how it feeds the memory attention
(``SAM2Base._prepare_memory_conditioned_features``, EdgeTAM's settings):

* conditioning frames (frames where the object was prompted): all of them upstream, without a
  bound. Here at most ``max_conditioning`` are kept, the most recent ones, which is exactly
  what upstream attends to with ``max_cond_frames_in_attn`` set to that number when frames
  arrive in order (it selects the temporally closest). A conditioning frame pushed out is kept
  as an ordinary recent frame while it is recent, as upstream treats an unselected one;
* the last ``num_maskmem - 1`` frames' memories (6), each with the temporal encoding of its
  distance (index ``d - 1`` for the frame ``d`` back; conditioning frames use the last index);
* object pointers: those of the conditioning frames, then of the last ``max_obj_ptrs - 1``
  (15) frames, nearest first. EdgeTAM adds no temporal encoding to pointers.

Memory is therefore bounded by ``(max_conditioning + 6) * T * m`` floats plus
``(max_conditioning + 15) * C`` for pointers; :meth:`ObjectMemory.nbytes` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FrameMemory:
    """One frame's contribution: memory tokens ``[T, m]`` (None once too old to attend to)
    and the object pointer ``[C]``."""

    frame: int
    memory: np.ndarray | None
    pointer: np.ndarray


@dataclass(frozen=True)
class MemoryInputs:
    """What the memory attention takes for one object on one frame."""

    memory: np.ndarray  # [F, T, m]
    tpos: np.ndarray  # [F] int64
    pointers: np.ndarray  # [P, C]

    @property
    def key(self) -> tuple[int, int]:
        """Objects with equal (F, P) can share one memory-attention call."""
        return self.memory.shape[0], self.pointers.shape[0]


class ObjectMemory:
    """Conditioning and recent frames of one object (see the module docstring)."""

    def __init__(self, max_conditioning: int, num_maskmem: int = 7, max_obj_ptrs: int = 16
                 ) -> None:
        if max_conditioning < 1:
            raise ValueError("max_conditioning must be at least 1")
        self.max_conditioning = max_conditioning
        self.num_maskmem = num_maskmem
        self.max_obj_ptrs = max_obj_ptrs
        self.conditioning: list[FrameMemory] = []
        self.recent: dict[int, FrameMemory] = {}

    @property
    def empty(self) -> bool:
        return not self.conditioning

    def add(self, frame: int, memory: np.ndarray, pointer: np.ndarray, conditioning: bool
            ) -> None:
        """Store frame ``frame``'s memory; frames must arrive in increasing order."""
        entry = FrameMemory(frame, memory, pointer)
        if conditioning:
            self.recent.pop(frame, None)
            self.conditioning.append(entry)
            if len(self.conditioning) > self.max_conditioning:
                oldest = self.conditioning.pop(0)
                self.recent[oldest.frame] = oldest
        else:
            self.recent[frame] = entry
        self._prune(frame)

    def _prune(self, frame: int) -> None:
        """Drop what no later frame can attend to: memories older than ``num_maskmem - 1``
        frames, pointers older than ``max_obj_ptrs - 1``."""
        for t in list(self.recent):
            age = frame + 1 - t  # distance from the next frame
            if age >= self.max_obj_ptrs:
                del self.recent[t]
            elif age >= self.num_maskmem:
                self.recent[t].memory = None

    def inputs(self, frame: int) -> MemoryInputs:
        """Memory frames, temporal indices and pointers for frame ``frame`` (upstream order:
        conditioning frames, then recent frames oldest first; pointers of conditioning
        frames, then recent ones nearest first)."""
        if self.empty:
            raise ValueError("an object without a conditioning frame has no memory to attend to")
        last = self.num_maskmem - 1
        mems = [e.memory for e in self.conditioning]
        tpos = [last] * len(mems)
        for distance in range(last, 0, -1):
            entry = self.recent.get(frame - distance)
            if entry is not None and entry.memory is not None:
                mems.append(entry.memory)
                tpos.append(distance - 1)
        pointers = [e.pointer for e in self.conditioning if e.frame <= frame]
        for distance in range(1, self.max_obj_ptrs):
            entry = self.recent.get(frame - distance)
            if entry is not None:
                pointers.append(entry.pointer)
        return MemoryInputs(np.stack(mems), np.asarray(tpos, np.int64), np.stack(pointers))

    def nbytes(self) -> int:
        """Bytes of stored memories and pointers."""
        entries = [*self.conditioning, *self.recent.values()]
        return sum(e.pointer.nbytes + (0 if e.memory is None else e.memory.nbytes)
                   for e in entries)

    def counts(self) -> tuple[int, int]:
        """(memory frames, pointers) currently stored."""
        entries = [*self.conditioning, *self.recent.values()]
        return sum(e.memory is not None for e in entries), len(entries)
