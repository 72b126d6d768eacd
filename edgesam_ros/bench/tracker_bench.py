"""The tracker's own cost per frame (prompts, gating, overlaps, bookkeeping), without a model.

Target: < 3 ms per frame for 10 objects at 640x480. The engine is replaced by precomputed
ground-truth masks (looked up, not computed, at decode time), and `FrameResult.tracker_ms`
excludes encode and decode anyway, so the table measures the tracker alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import cv2
import numpy as np

from edgesam_ros.engine.types import Embedding, MaskResult, Prompt
from edgesam_ros.tracking import Tracker, TrackerConfig, UserPrompt

LOW_RES = 256  # EdgeSAM's low-res logits are 256 x 256


class _PrecomputedEngine:
    """Answers each prompt with the GT mask of the object at the prompt's point / box centre."""

    def __init__(self, frames: list[tuple[np.ndarray, dict[int, MaskResult]]]) -> None:
        self._frames = frames
        self.info = type("Info", (), {"has_mask_input": True})()

    def encode(self, image: np.ndarray) -> Embedding:  # unused: the bench passes embeddings
        raise NotImplementedError

    def decode(self, embedding: Embedding, prompts: Sequence[Prompt]) -> list[MaskResult]:
        ids, results = self._frames[int(embedding.features[0, 0, 0, 0])]
        out = []
        for prompt in prompts:
            x, y = prompt.points[0] if len(prompt.points) else (prompt.box[:2] + prompt.box[2:]) / 2
            object_id = int(
                ids[int(np.clip(y, 0, ids.shape[0] - 1)), int(np.clip(x, 0, ids.shape[1] - 1))]
            )
            out.append(results.get(object_id, results[0]))
        return out


def _result(mask: np.ndarray, logits: np.ndarray) -> MaskResult:
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return MaskResult((0, 0, 0, 0), np.zeros((0, 0), bool), 0.0, 0.0, 0, logits)
    x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return MaskResult(
        (int(x1), int(y1), int(x2), int(y2)), mask[y1:y2, x1:x2].copy(), 0.95, 0.95, len(ys), logits
    )


def make_frames(objects: int, frames: int, size: tuple[int, int], seed: int = 0):
    """Discs bouncing around an image: (RGB images, [(id image, id -> MaskResult)])."""
    rng = np.random.default_rng(seed)
    h, w = size
    radius = rng.uniform(15, 35, objects)
    position = rng.uniform([40, 40], [w - 40, h - 40], (objects, 2))
    velocity = rng.uniform(-4, 4, (objects, 2))
    colors = rng.integers(30, 255, (objects, 3))
    logits = np.zeros((LOW_RES, LOW_RES), np.float32)
    images, tables = [], []
    for _ in range(frames):
        ids = np.zeros(size, np.uint16)
        image = np.full((*size, 3), 60, np.uint8)
        for k in range(objects):
            centre = tuple(int(v) for v in position[k])
            cv2.circle(ids, centre, int(radius[k]), k + 1, -1)
            cv2.circle(image, centre, int(radius[k]), [int(c) for c in colors[k]], -1)
        results = {k: _result(ids == k, logits) for k in range(objects + 1)}
        results[0] = _result(np.zeros(size, bool), logits)
        images.append(image)
        tables.append((ids, results))
        position += velocity
        bounce = (position < 40) | (position > [w - 40, h - 40])
        velocity[bounce] *= -1
    return images, tables


def bench(objects: int, frames: int, size: tuple[int, int]) -> tuple[float, float]:
    """(mean, 95th percentile) tracker ms per frame for `objects` objects."""
    images, tables = make_frames(objects, frames, size)
    engine = _PrecomputedEngine(tables)
    tracker = Tracker(TrackerConfig())
    for object_id in range(1, objects + 1):
        box = np.asarray(tables[0][1][object_id].box, np.float32)
        tracker.add(UserPrompt(box=box))
    times = []
    for t, image in enumerate(images):
        embedding = Embedding(np.full((1, 1, 1, 1), t, np.float32), size, None)
        times.append(tracker.step(engine, image, embedding).tracker_ms)
    steady = np.asarray(times[1:])
    return float(steady.mean()), float(np.percentile(steady, 95))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgesam-ros bench tracker", description=__doc__)
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", type=int, nargs=2, default=[480, 640], metavar=("H", "W"))
    args = parser.parse_args(argv)
    print(
        f"tracker overhead per frame at {args.size[1]}x{args.size[0]}, {args.frames} frames "
        "(engine excluded)\n"
    )
    print("| objects | mean ms | p95 ms |\n|---|---|---|")
    for count in args.objects:
        mean, p95 = bench(count, args.frames, tuple(args.size))
        print(f"| {count} | {mean:.2f} | {p95:.2f} |", flush=True)
    return 0
