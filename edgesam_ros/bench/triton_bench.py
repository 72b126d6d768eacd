"""Many cameras, one Triton server vs one local engine per camera, side by side in one run.

Each camera is a thread with its own `SamEngine` that encodes 640x480 frames and decodes
`--objects` box prompts per frame as fast as it can, for `--seconds` per case. For 1, 2 and 4
cameras the local case (one onnxruntime engine per camera) and the Triton case (every camera's
engine a client of one `tritonserver`, tools/setup_triton.sh) alternate for `--rounds` rounds, so
a shared machine's drift hits both alike. Reported per case: total frames per second, per-frame
latency p50/p95 (encode + decode, as a node sees it), and from Triton's statistics API the
encoder batches the dynamic batcher actually formed (batch size x executions) and the mean time
a request waited in its queue.

Cores: the server's model instance gets `--threads` onnxruntime threads (default: all cores),
and each of N local engines `max(1, threads // N)`, so both sides use the machine without
oversubscribing it. The CPU test server runs our Python-backend model (onnxruntime inside the
server); production GPU serving uses the onnxruntime/TensorRT backend (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgesam_ros.engine import EngineConfig, Prompt, SamEngine
from edgesam_ros.scenes.still import generate_scene

DEFAULT_MODEL = Path(".cache/random_tiny")


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


def run_cameras(engines: list[SamEngine], images: list[np.ndarray], boxes: list[np.ndarray],
                seconds: float) -> tuple[int, float, list[float]]:
    """(frames, wall seconds, per-frame latencies) of all cameras running at once."""
    latencies: list[list[float]] = [[] for _ in engines]
    start_line = threading.Barrier(len(engines) + 1)
    stop = threading.Event()

    def camera(index: int) -> None:
        engine, lat = engines[index], latencies[index]
        start_line.wait()
        frame = index
        while not stop.is_set():
            image = images[frame % len(images)]
            begin = time.perf_counter()
            embedding = engine.encode(image)
            engine.decode(embedding, [Prompt.from_box(b) for b in boxes[frame % len(boxes)]])
            lat.append((time.perf_counter() - begin) * 1e3)
            frame += 1

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


def encoder_statistics(client: object, model: str) -> tuple[Counter[int], int, int]:
    """(executions per batch size, queued requests, queue ns) so far, from Triton's API."""
    stats = client.get_inference_statistics(model, as_json=True)["model_stats"][0]
    batches = Counter({int(b["batch_size"]): int(b["compute_infer"]["count"])
                       for b in stats.get("batch_stats", [])})
    queue = stats.get("inference_stats", {}).get("queue", {})
    return batches, int(queue.get("count", 0)), int(queue.get("ns", 0))


def bench_case(backend: str, cameras: int, args: argparse.Namespace, server: object,
               client: object, images: list[np.ndarray],
               boxes: list[np.ndarray]) -> CaseResult:
    threads = max(1, args.threads // cameras)
    base = EngineConfig(providers=("cpu",), intra_op_threads=threads, inter_op_threads=1,
                        warmup=True)
    if backend == "triton":
        config = EngineConfig(providers=("cpu",), warmup=True, backend="triton",
                              triton_url=server.url, triton_timeout_s=30.0)
        engines = [SamEngine(None, None, config) for _ in range(cameras)]
        before = encoder_statistics(client, "edgesam_encoder")
    else:
        engines = [SamEngine(args.encoder, args.decoder, base) for _ in range(cameras)]
    frames, seconds, latencies = run_cameras(engines, images, boxes, args.seconds)
    if backend != "triton":
        return CaseResult(frames, seconds, latencies, Counter(), None)
    after = encoder_statistics(client, "edgesam_encoder")
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


def table(results: dict[tuple[int, str], CaseResult]) -> str:
    lines = ["| cameras | backend | total fps | latency p50 (ms) | latency p95 (ms) | "
             "encoder batches formed (size x executions) | mean queue (ms) |",
             "|---|---|---|---|---|---|---|"]
    for (cameras, backend), r in sorted(results.items()):
        lat = np.asarray(r.latencies_ms)
        batches = ", ".join(f"{size} x {count}" for size, count in sorted(r.batches.items()))
        queue = "" if r.queue_ms is None else f"{r.queue_ms:.1f}"
        lines.append(f"| {cameras} | {backend} | {r.fps:.1f} | {np.percentile(lat, 50):.0f} | "
                     f"{np.percentile(lat, 95):.0f} | {batches or '-'} | {queue or '-'} |")
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
    p.add_argument("--queue-delay-us", type=int, default=2000,
                   help="dynamic batcher: longest wait for a frame to get company")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(argv or []))
    import tritonclient.grpc as grpcclient

    from edgesam_ros.serving.server import python_backend_server

    for path in (args.encoder, args.decoder):
        if not path.is_file():
            print(f"no model file {path}: run `make test` (it exports .cache/random_tiny) or "
                  "pass --encoder/--decoder")
            return 2
    scenes = [generate_scene(seed) for seed in range(4)]
    images = [s.image for s in scenes]
    boxes = [np.asarray(s.boxes[:args.objects], np.float32) for s in scenes]
    results: dict[tuple[int, str], list[CaseResult]] = {}
    with tempfile.TemporaryDirectory(prefix="edgesam-triton-bench-") as work:
        server = python_backend_server(args.encoder, args.decoder, Path(work) / "repo",
                                       threads=args.threads, queue_delay_us=args.queue_delay_us)
        with server:
            client = grpcclient.InferenceServerClient(server.url)
            for _ in range(args.rounds):
                for cameras in args.cameras:
                    for backend in ("local", "triton"):
                        result = bench_case(backend, cameras, args, server, client, images,
                                            boxes)
                        results.setdefault((cameras, backend), []).append(result)
            client.close()
    print(f"{args.encoder.parent}: 640x480 frames, {args.objects} box prompts per frame, "
          f"{args.seconds:g} s x {args.rounds} rounds per case, {args.threads} threads, "
          f"dynamic batching delay {args.queue_delay_us} us\n")
    print(table({key: merge(runs) for key, runs in results.items()}))
    return 0
