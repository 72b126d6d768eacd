"""onnxruntime's thread spinning against the Python work around inference, on the bundled model.

Between two runs, onnxruntime's intra-op threads busy-wait unless told not to. On a small CPU the
spinning threads hold the cores that the engine's mask post-processing, the tracker and a node's
callbacks need, so everything but the model itself slows down. This runs the whole per-frame
pipeline (encode, decode, mask upsampling, tracker) on the demo sequence with
`EngineConfig.allow_spinning` off and on, in interleaved rounds with the same thread count, and
prints the per-frame times side by side; the ratio column is what `allow_spinning=False`, the
default, buys.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

from edgesam_ros.engine import EngineConfig, SamEngine
from edgesam_ros.scenes import sequence_preset
from edgesam_ros.tracking import Tracker, TrackerConfig, UserPrompt

#: Per-frame quantities of one run, in milliseconds.
COLUMNS = ("frame", "encode", "decode", "postprocess", "tracker")


def pipeline_ms(engine: SamEngine, images: list[np.ndarray], boxes: np.ndarray) -> np.ndarray:
    """(frames, len(COLUMNS)) times of tracking `boxes` (first-frame prompts) through `images`."""
    tracker = Tracker(TrackerConfig())
    for box in boxes:
        tracker.add(UserPrompt(box=box))
    rows = []
    for image in images:
        start = time.perf_counter()
        result = tracker.step(engine, image)
        frame_ms = (time.perf_counter() - start) * 1e3
        rows.append((frame_ms, result.encode_ms, result.decode_ms,
                     engine.timings.postprocess_ms, result.tracker_ms))
    return np.asarray(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgesam-ros bench spinning", description=__doc__)
    parser.add_argument("--frames", type=int, default=40, help="frames of the demo sequence")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per setting")
    parser.add_argument("--threads", type=int, default=0,
                        help="onnxruntime intra-op threads (0: one per core, the default)")
    args = parser.parse_args(argv)

    sequence = sequence_preset("demo").generate()[0]
    frames = min(args.frames, len(sequence))
    images = [sequence[t].image for t in range(frames)]
    first = sequence[0]
    boxes = first.boxes[first.instance_masks.any(axis=(1, 2))].astype(np.float32)
    engines = {
        spinning: SamEngine.bundled(EngineConfig(providers=("cpu",), allow_spinning=spinning,
                                                 intra_op_threads=args.threads))
        for spinning in (False, True)
    }
    runs: dict[bool, list[np.ndarray]] = {False: [], True: []}
    for _ in range(args.rounds):
        for spinning, engine in engines.items():
            runs[spinning].append(pipeline_ms(engine, images, boxes)[1:])  # frame 0 warms up
    medians = {s: np.median(np.concatenate(r), axis=0) for s, r in runs.items()}

    print(f"bundled model, CPU, intra-op threads {args.threads or 'default'}, demo sequence: "
          f"{frames - 1} frames x {args.rounds} interleaved rounds, {len(boxes)} objects; "
          "median ms per frame\n")
    print("| per frame | spinning off (default) | spinning on | on / off |\n|---|---|---|---|")
    for k, name in enumerate(COLUMNS):
        off, on = medians[False][k], medians[True][k]
        print(f"| {name} | {off:.2f} | {on:.2f} | {on / max(off, 1e-9):.2f}x |")
    return 0
