"""Frame preprocessing cost: upstream-exact Pillow resize against the faster, inexact cv2 one.

For each camera size, the engine's whole preprocessing (resize, normalise, pad) runs with
`EngineConfig.resize="pillow"` (the default, upstream's resize byte for byte) and `"cv2"`
(INTER_AREA shrinking / INTER_LINEAR enlarging, what the engine used before), interleaved call by
call so both see the same machine, on a natural-looking procedural scene. The last columns say how
far apart the two resized images are, in grey levels: what choosing "cv2" costs in exactness.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

from edgesam_ros.engine.config import RESIZES
from edgesam_ros.engine.preprocess import preprocess_image, resize_image
from edgesam_ros.engine.signatures import SAM_PIXEL_MEAN, SAM_PIXEL_STD
from edgesam_ros.engine.transforms import LongestSide
from edgesam_ros.scenes.config import SceneConfig
from edgesam_ros.scenes.still import generate_scene

#: (height, width) of the camera frames measured.
CAMERA_SIZES = ((480, 640), (720, 1280), (1080, 1920))


def median_ms(image: np.ndarray, frame: LongestSide, rounds: int) -> dict[str, float]:
    """Median milliseconds of one BGR frame's preprocessing per resize method, interleaved."""
    times: dict[str, list[float]] = {method: [] for method in RESIZES}
    for _ in range(rounds):
        for method in RESIZES:
            start = time.perf_counter()
            preprocess_image(image, "bgr", frame, SAM_PIXEL_MEAN, SAM_PIXEL_STD, method)
            times[method].append((time.perf_counter() - start) * 1e3)
    return {method: float(np.median(values)) for method, values in times.items()}


def grey_level_gap(image: np.ndarray, frame: LongestSide) -> tuple[int, float]:
    """Largest and mean absolute difference between the two methods' resized images."""
    size = frame.resized_size(image.shape[:2])
    exact, fast = (resize_image(image, size, m).astype(np.int16) for m in ("pillow", "cv2"))
    gap = np.abs(exact - fast)
    return int(gap.max()), float(gap.mean())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgesam-ros bench preprocess",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append",
                        help="encoder input size (repeatable; default: 1024 and 384, the "
                             "bundled model's)")
    parser.add_argument("--rounds", type=int, default=30, help="calls per method and size")
    args = parser.parse_args(argv)
    sizes = args.size or [1024, 384]
    print("| camera | encoder | pillow ms (exact) | cv2 ms (not exact) | pillow / cv2 "
          "| max grey gap | mean grey gap |")
    print("|---|---|---|---|---|---|---|")
    for h, w in CAMERA_SIZES:
        image = generate_scene(0, SceneConfig(height=h, width=w)).image[..., ::-1].copy()
        for size in sizes:
            frame = LongestSide(size)
            ms = median_ms(image, frame, args.rounds)
            worst, mean = grey_level_gap(image, frame)
            print(f"| {w}x{h} | {size} | {ms['pillow']:.2f} | {ms['cv2']:.2f} | "
                  f"{ms['pillow'] / ms['cv2']:.2f} | {worst} | {mean:.2f} |", flush=True)
    return 0
