"""Many cameras, one Triton server vs one local engine per camera, side by side in one run.

Each camera is a thread with its own `SamEngine` that encodes 640x480 frames and decodes
`--objects` box prompts per frame as fast as it can, for `--seconds` per case. For 1, 2 and 4
cameras the local case (one onnxruntime engine per camera) and the Triton case (every camera's
engine a client of one `tritonserver`, tools/setup_triton.sh) alternate for `--rounds` rounds, so
a shared machine's drift hits both alike. Reported per case: total frames per second, per-frame
latency p50/p95 (encode + decode, as a node sees it), and from Triton's statistics API the
encoder batches the dynamic batcher actually formed (batch size x executions) and the mean time
a request waited in its queue.

Cameras run as threads of this process (`--layouts threads`: what one node process for several
cameras would do) and/or as one process each (`processes`: one node per camera).

Cores: the server's model instance gets `--threads` onnxruntime threads (default: all cores),
and each of N local engines `max(1, threads // N)`, so both sides use the machine without
oversubscribing it. The CPU test server runs our Python-backend model (onnxruntime inside the
server); production GPU serving uses the onnxruntime/TensorRT backend (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgesam_ros.engine import EngineConfig, Prompt, SamEngine
from edgesam_ros.scenes.still import generate_scene
from edgesam_ros.serving.server import TritonServer, python_backend_server

DEFAULT_MODEL = Path(".cache/random_tiny")
LAYOUTS = ("threads", "processes")


@dataclass(frozen=True)
class CaseResult:
    """One backend with N cameras: throughput, latency and (Triton) the batches formed."""

    frames: int
    seconds: float
    latencies_ms: list[float]
    batches: Counter[int]
    queue_ms: float | None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


def scene_frames(count: int, objects: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """640x480 procedural frames and `objects` boxes of each (the same in every process)."""
    scenes = [generate_scene(seed) for seed in range(count)]
    return [s.image for s in scenes], [np.asarray(s.boxes[:objects], np.float32) for s in scenes]


def camera_loop(engine: SamEngine, images: list[np.ndarray], boxes: list[np.ndarray],
                first: int, running: Callable[[], bool]) -> list[float]:
    """Encode + decode frames back to back while `running()`; per-frame latencies (ms)."""
    latencies = []
    frame = first
    while running():
        begin = time.perf_counter()
        embedding = engine.encode(images[frame % len(images)])
        engine.decode(embedding, [Prompt.from_box(b) for b in boxes[frame % len(boxes)]])
        latencies.append((time.perf_counter() - begin) * 1e3)
        frame += 1
    return latencies


def run_cameras(engines: list[SamEngine], images: list[np.ndarray], boxes: list[np.ndarray],
                seconds: float) -> tuple[int, float, list[float]]:
    """(frames, wall seconds, per-frame latencies) of cameras as threads of this process."""
    latencies: list[list[float]] = [[] for _ in engines]
    start_line = threading.Barrier(len(engines) + 1)
    stop = threading.Event()

    def camera(index: int) -> None:
        start_line.wait()
        latencies[index] = camera_loop(engines[index], images, boxes, index,
                                       lambda: not stop.is_set())

    threads = [threading.Thread(target=camera, args=(i,), daemon=True)
               for i in range(len(engines))]
    for thread in threads:
        thread.start()
    start_line.wait()
    begin = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    every = [v for lat in latencies for v in lat]
    return len(every), elapsed, every


def camera_worker(spec: str) -> int:
    """One camera in its own process (`python -m edgesam_ros.bench.triton_bench --camera
    SPEC`): build the engine, print "ready", wait for a line on stdin, run `seconds` of frames,
    print the latencies as JSON."""
    job = json.loads(spec)
    paths = job["paths"]
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in job["config"].items()}
    engine = SamEngine(paths[0], paths[1], EngineConfig(**config))
    images, boxes = scene_frames(4, job["objects"])
    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + job["seconds"]
    print(json.dumps(camera_loop(engine, images, boxes, job["index"],
                                 lambda: time.monotonic() < deadline)), flush=True)
    return 0


def run_camera_processes(cameras: int, paths: tuple[Path | None, Path | None],
                         config: EngineConfig, objects: int, seconds: float,
                         on_start: Callable[[], None]) -> tuple[int, float, list[float]]:
    """(frames, wall seconds, per-frame latencies) of cameras as separate processes;
    `on_start()` runs once every camera has loaded (and warmed up) its engine."""
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    workers = []
    for index in range(cameras):
        spec = json.dumps({"index": index, "paths": [str(p) if p else None for p in paths],
                           "config": fields, "objects": objects, "seconds": seconds})
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "edgesam_ros.bench.triton_bench", "--camera", spec],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for worker in workers:
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError("a camera process failed to start (see its error above)")
    on_start()
    begin = time.perf_counter()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    latencies = [json.loads(worker.stdout.readline()) for worker in workers]
    elapsed = time.perf_counter() - begin
    for worker in workers:
        worker.wait()
    every = [v for lat in latencies for v in lat]
    return len(every), elapsed, every


def encoder_statistics(client: object, model: str) -> tuple[Counter[int], int, int]:
    """(executions per batch size, queued requests, queue ns) so far, from Triton's API."""
    stats = client.get_inference_statistics(model, as_json=True)["model_stats"][0]
    batches = Counter({int(b["batch_size"]): int(b["compute_infer"]["count"])
                       for b in stats.get("batch_stats", [])})
    queue = stats.get("inference_stats", {}).get("queue", {})
    return batches, int(queue.get("count", 0)), int(queue.get("ns", 0))


def bench_case(backend: str, layout: str, cameras: int, args: argparse.Namespace,
               server: TritonServer, client: Any) -> CaseResult:
    """N cameras on one backend, as threads of this process or as processes."""
    if backend == "triton":
        config = EngineConfig(providers=("cpu",), backend="triton", triton_url=server.url,
                              triton_timeout_s=30.0)
        paths: tuple[Path | None, Path | None] = (None, None)
    else:
        config = EngineConfig(providers=("cpu",), intra_op_threads=max(1, args.threads // cameras),
                              inter_op_threads=1)
        paths = (args.encoder, args.decoder)
    counted: list[tuple[Counter[int], int, int]] = []

    def start() -> None:  # after the engines' warm-up, which the statistics must not include
        if backend == "triton":
            counted.append(encoder_statistics(client, "edgesam_encoder"))

    if layout == "processes":
        frames, seconds, latencies = run_camera_processes(cameras, paths, config, args.objects,
                                                          args.seconds, start)
    else:
        engines = [SamEngine(*paths, config) for _ in range(cameras)]
        start()
        frames, seconds, latencies = run_cameras(engines, *scene_frames(4, args.objects),
                                                 args.seconds)
    if backend != "triton":
        return CaseResult(frames, seconds, latencies, Counter(), None)
    before, after = counted[0], encoder_statistics(client, "edgesam_encoder")
    batches = +(after[0] - before[0])
    queued = after[1] - before[1]
    queue_ms = (after[2] - before[2]) / 1e6 / queued if queued else 0.0
    return CaseResult(frames, seconds, latencies, batches, queue_ms)


def merge(results: list[CaseResult]) -> CaseResult:
    return CaseResult(
        frames=sum(r.frames for r in results),
        seconds=sum(r.seconds for r in results),
        latencies_ms=[v for r in results for v in r.latencies_ms],
        batches=sum((r.batches for r in results), Counter()),
        queue_ms=(None if results[0].queue_ms is None
                  else float(np.mean([r.queue_ms for r in results]))),
    )


def table(results: dict[tuple[int, str, str], CaseResult]) -> str:
    lines = ["| cameras | cameras as | backend | total fps | latency p50 (ms) | latency p95 (ms) | "
             "encoder batches formed (size x executions) | mean queue (ms) |",
             "|---|---|---|---|---|---|---|---|"]
    for (cameras, layout, backend), r in sorted(results.items()):
        lat = np.asarray(r.latencies_ms)
        batches = ", ".join(f"{size} x {count}" for size, count in sorted(r.batches.items()))
        queue = "" if r.queue_ms is None else f"{r.queue_ms:.1f}"
        p50, p95 = np.percentile(lat, 50), np.percentile(lat, 95)
        lines.append(f"| {cameras} | {layout} | {backend} | {r.fps:.1f} | {p50:.0f} | {p95:.0f} | "
                     f"{batches or '-'} | {queue or '-'} |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="edgesam-ros bench triton", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", type=Path, default=DEFAULT_MODEL / "encoder.onnx",
                   help="encoder ONNX (default: the random tiny test model of `make test`; "
                        "an encoder with RPN outputs cannot be batched by Triton)")
    p.add_argument("--decoder", type=Path, default=DEFAULT_MODEL / "decoder.onnx")
    p.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--objects", type=int, default=2, help="box prompts decoded per frame")
    p.add_argument("--seconds", type=float, default=5.0, help="per case and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="onnxruntime threads of the server, split among local engines")
    p.add_argument("--layouts", nargs="+", default=["threads"], choices=LAYOUTS,
                   help="cameras as threads of one process (one node for several cameras) "
                        "and/or as separate processes (one node per camera)")
    p.add_argument("--queue-delay-us", type=int, default=2000,
                   help="dynamic batcher: longest wait for a frame to get company")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(argv or [])
    if argv[:1] == ["--camera"]:
        return camera_worker(argv[1])
    args = parse_args(argv)
    import tritonclient.grpc as grpcclient

    for path in (args.encoder, args.decoder):
        if not path.is_file():
            print(f"no model file {path}: run `make test` (it exports .cache/random_tiny) or "
                  "pass --encoder/--decoder")
            return 2
    results: dict[tuple[int, str, str], list[CaseResult]] = {}
    with tempfile.TemporaryDirectory(prefix="edgesam-triton-bench-") as work:
        server = python_backend_server(args.encoder, args.decoder, Path(work) / "repo",
                                       threads=args.threads, queue_delay_us=args.queue_delay_us)
        with server:
            client = grpcclient.InferenceServerClient(server.url)
            for _ in range(args.rounds):
                for cameras in args.cameras:
                    for layout in args.layouts:
                        for backend in ("local", "triton"):
                            result = bench_case(backend, layout, cameras, args, server, client)
                            results.setdefault((cameras, layout, backend), []).append(result)
            client.close()
    print(f"{args.encoder.parent}: 640x480 frames, {args.objects} box prompts per frame, "
          f"{args.seconds:g} s x {args.rounds} rounds per case, {args.threads} threads, "
          f"dynamic batching delay {args.queue_delay_us} us\n")
    print(table({key: merge(runs) for key, runs in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
