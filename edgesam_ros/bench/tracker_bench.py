"""The tracker's own cost per frame (prompts, gating, overlaps, bookkeeping), without a model.

Target: < 3 ms per frame for 10 objects at 640x480. The engine is the ground-truth
`OracleEngine`, and `FrameResult.tracker_ms` excludes encode and decode, so the table measures
the tracker alone (appearance histograms included: every frame gets its image).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import cv2
import numpy as np

from edgesam_ros.tracking import Tracker, TrackerConfig, UserPrompt
from edgesam_ros.tracking.oracle import OracleEngine, mask_result


def make_frames(objects: int, frames: int, size: tuple[int, int], seed: int = 0):
    """Discs bouncing around an image: (RGB images, id images)."""
    rng = np.random.default_rng(seed)
    h, w = size
    radius = rng.uniform(15, 35, objects)
    position = rng.uniform([40, 40], [w - 40, h - 40], (objects, 2))
    velocity = rng.uniform(-4, 4, (objects, 2))
    colors = rng.integers(30, 255, (objects, 3))
    images, id_images = [], []
    for _ in range(frames):
        ids = np.zeros(size, np.uint16)
        image = np.full((*size, 3), 60, np.uint8)
        for k in range(objects):
            centre = tuple(int(v) for v in position[k])
            cv2.circle(ids, centre, int(radius[k]), k + 1, -1)
            cv2.circle(image, centre, int(radius[k]), [int(c) for c in colors[k]], -1)
        images.append(image)
        id_images.append(ids)
        position += velocity
        bounce = (position < 40) | (position > [w - 40, h - 40])
        velocity[bounce] *= -1
    return images, id_images


def bench(objects: int, frames: int, size: tuple[int, int]) -> tuple[float, float]:
    """(mean, 95th percentile) tracker ms per frame for `objects` objects."""
    images, id_images = make_frames(objects, frames, size)
    engine = OracleEngine()
    tracker = Tracker(TrackerConfig())
    for object_id in range(1, objects + 1):
        box = np.asarray(mask_result(id_images[0] == object_id).box, np.float32)
        tracker.add(UserPrompt(box=box))
    times = []
    for image, ids in zip(images, id_images, strict=True):
        times.append(tracker.step(engine, image, engine.encode(ids)).tracker_ms)
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
