"""EdgeTAM memory tracking cost per frame, by graph, against the number of objects.

Every object is prompted with a box on the first frame, then tracked; after ``num_maskmem``
frames its memory is full (1 conditioning frame + 6 recent frames, F = 7) and the pointers
keep growing to 16 (P). Rows give the mean milliseconds of the last ``--measure`` frames per
graph call kind, so they are steady-state costs; the first row of each object count is the
second frame (one memory frame, F=1); F is the memory frames the memory attention attended
to. Run on the real export (``edgesam-ros export --family edgetam edgetam.pt -o DIR``); random
weights give the same cost.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from edgesam_ros.engine.config import EngineConfig
from edgesam_ros.engine.edgetam import EdgeTamFiles, EdgeTamRuntime
from edgesam_ros.tracking.memory_tracker import MemoryTracker
from edgesam_ros.tracking.objects import UserPrompt

STAGES = ("encode", "condition", "decode", "encode_memory")


class TimedRuntime:
    """The runtime with every graph call timed (ms lists per stage)."""

    def __init__(self, runtime: EdgeTamRuntime) -> None:
        self.runtime = runtime
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.frames = 0  # most memory frames one memory-attention call attended to

    def condition(self, frame: object, memory: np.ndarray, *args: object) -> np.ndarray:
        self.frames = max(self.frames, memory.shape[1])
        return self._timed("condition", self.runtime.condition)(frame, memory, *args)

    def __getattr__(self, name: str) -> object:
        attr = getattr(self.runtime, name)
        if name not in STAGES:
            return attr
        return self._timed(name, attr)

    def _timed(self, name: str, fn: Callable) -> Callable:
        def call(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.ms[name].append((time.perf_counter() - start) * 1e3)

        return call


def run(runtime: EdgeTamRuntime, objects: int, frames: int, size: tuple[int, int],
        seed: int = 0) -> list[tuple[dict[str, float], int, int]]:
    """Per frame: (ms per stage, largest object memory in bytes, memory frames attended F)."""
    timed = TimedRuntime(runtime)
    tracker = MemoryTracker(timed)  # type: ignore[arg-type]  # same methods, timed
    h, w = size
    rng = np.random.default_rng(seed)
    for _ in range(objects):
        x, y = rng.uniform(0, w * 0.6), rng.uniform(0, h * 0.6)
        tracker.add(UserPrompt(box=[x, y, x + w * 0.3, y + h * 0.3]))
    out = []
    for _ in range(frames):
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        timed.ms.clear()
        timed.frames = 0
        tracker.step(timed, image)  # type: ignore[arg-type]
        usage = max(u[0] for u in tracker.memory_usage().values())
        out.append(({s: float(sum(timed.ms[s])) for s in STAGES}, usage, timed.frames))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edgesam-ros bench memory", description=__doc__)
    parser.add_argument("--model-dir", help="directory of the four EdgeTAM graphs")
    parser.add_argument("--fp16", action="store_true", help="the *.fp16.onnx graphs")
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 2, 5])
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--measure", type=int, default=3, help="last frames averaged")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--providers", nargs="+", default=["cpu"])
    args, _ = parser.parse_known_args(argv)
    if not args.model_dir:
        print("memory benchmark skipped: give --model-dir (edgesam-ros export --family edgetam)")
        return 0
    config = EngineConfig(providers=tuple(args.providers), intra_op_threads=args.threads,
                          warmup=False)
    runtime = EdgeTamRuntime(EdgeTamFiles.from_dir(args.model_dir, args.fp16), config,
                             max_objects=max(args.objects))
    print(f"EdgeTAM {runtime.image_size}px on {runtime.info.encoder_provider}, "
          f"{args.threads} thread(s), {args.frames} frames, mean of the last {args.measure}\n")
    print("| objects | memory | encode ms | memory attention ms | decoder ms | "
          "memory encoder ms | total ms | largest object memory (kB) |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.objects:
        rows = run(runtime, n, args.frames, (480, 640))
        for sample in (rows[1:2], rows[-args.measure:]):
            ms = {s: float(np.mean([r[0][s] for r in sample])) for s in STAGES}
            kb = max(r[1] for r in sample) / 1024
            frames = sorted({r[2] for r in sample})
            print(f"| {n} | F={'-'.join(map(str, frames))} | {ms['encode']:.0f} | "
                  f"{ms['condition']:.0f} | {ms['decode']:.0f} | {ms['encode_memory']:.0f} | "
                  f"{sum(ms.values()):.0f} | {kb:.0f} |", flush=True)
    print("\nTensorRT optimisation profiles (min/opt/max per dynamic axis), 16 objects, "
          "4 conditioning frames:")
    for graph, inputs in runtime.trt_profiles(16, 4).items():
        for name, axes in inputs.items():
            dims = " x ".join("/".join(str(v) for v in a) if a[0] != a[2] else str(a[0])
                              for a in axes)
            print(f"- {graph}.{name}: {dims}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
