"""Engine benchmark: ONNX Runtime vs PyTorch, precisions, variants, decoder batching.

Exports random-weight models (deterministic seed, BN statistics randomised so every branch
does real work), then measures everything it compares in one interleaved loop and reports
medians, so slow drifts of a shared machine hit all contenders alike. Prints markdown,
ending with the performance targets of the engine and whether this run meets them.

Every contender computes on the calling thread when ``--threads 1`` (ORT with one intra-op
thread, torch with ``set_num_threads(1)``), so besides wall time the bench reports that
thread's CPU time: the work done, which other processes' time slices on a busy machine do
not inflate. The targets are judged on both; wall time is what users see.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

Runner = Callable[[], object]

#: Object counts the decoder-scaling target compares.
TARGET_OBJECTS = (1, 10)
#: The variant the targets are defined on (full-size EdgeSAM at 1024).
TARGET_VARIANT = "edgesam"


@dataclass(frozen=True)
class Timing:
    """Median wall and calling-thread CPU milliseconds of one contender."""

    wall: float
    cpu: float


@dataclass(frozen=True)
class Target:
    """A required ratio; ``at_least`` False means the measured value must not exceed it."""

    key: str
    text: str
    required: float
    at_least: bool

    def verdict(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        ok = value >= self.required if self.at_least else value <= self.required
        return "PASS" if ok else "FAIL"


TARGETS = (
    Target("encoder", "(a) encoder: ORT fp32 speed-up over PyTorch eager fp32", 2.0, True),
    Target("decoder", "(b) decoder: 10 objects batched / 1 object", 2.5, False),
    Target("int8_speed", "(c) INT8 encoder speed-up over fp32", 1.5, True),
    Target("int8_iou", "(c) INT8 encoder mask IoU vs fp32", 0.95, True),
)


def interleaved_ms(runners: dict[str, Runner], repeats: int) -> dict[str, Timing]:
    """Median wall and thread-CPU time (ms) of each runner, run round-robin after one
    warm-up call each."""
    for run in runners.values():
        run()
    wall: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            run()
            cpu[name].append((time.thread_time() - start_cpu) * 1000)
            wall[name].append((time.perf_counter() - start) * 1000)
    return {name: Timing(statistics.median(wall[name]), statistics.median(cpu[name]))
            for name in runners}


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Mean IoU of the binarised (> 0) masks, over prompts and mask slots."""
    a, b = a > 0, b > 0
    inter = (a & b).sum(axis=(-2, -1))
    union = (a | b).sum(axis=(-2, -1))
    return float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).mean())


def decoder_feeds(emb: np.ndarray, count: int, size: int, rng: np.random.Generator
                  ) -> dict[str, np.ndarray]:
    """``count`` prompts of one foreground click plus a padding point."""
    h = emb.shape[-1]
    coords = np.concatenate([rng.uniform(0, size, (count, 1, 2)), np.zeros((count, 1, 2))], 1)
    labels = np.tile(np.array([[1.0, -1.0]]), (count, 1))
    return {"image_embeddings": emb, "point_coords": coords.astype(np.float32),
            "point_labels": labels.astype(np.float32),
            "mask_input": np.zeros((count, 1, 4 * h, 4 * h), np.float32),
            "has_mask_input": np.zeros(count, np.float32)}


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: Sequence[str], rows: list[Sequence[object]]) -> str:
    return "\n".join([_row(header), _row(["---"] * len(header)), *map(_row, rows)])


@dataclass
class VariantResult:
    """Table rows of one variant plus the ratios the targets check, as (wall, cpu)."""

    encoder_rows: list[list[object]]
    decoder_rows: list[list[object]]
    accuracy_rows: list[list[object]]
    ratios: dict[str, tuple[float | None, float | None]]


def bench_variant(name: str, cfg, work: Path, threads: int, repeats: int,
                  objects: Sequence[int], torch_eager: bool) -> VariantResult:
    """Encoder, decoder-batching and precision-accuracy measurements of one variant."""
    import torch

    from ..export.onnx_export import export_onnx, prepare_model
    from ..export.quantize import normalize, procedural_image, session

    out = work / name
    paths = export_onnx(None, cfg, out, random_init=True, fp16=True, int8=True)
    rng = np.random.default_rng(0)
    image = normalize(procedural_image(cfg.image_size, rng), cfg)
    enc = {k: session(paths[f"encoder{s}"], threads)
           for k, s in (("fp32", ""), ("fp16", "_fp16"), ("int8", "_int8"))}
    dec = {k: session(paths[f"decoder{s}"], threads)
           for k, s in (("fp32", ""), ("fp16", "_fp16"), ("int8", "_int8"))}
    runners: dict[str, Runner] = {
        f"ORT {k}": (lambda s=s: s.run(None, {"image": image})) for k, s in enc.items()}
    eager_name = "PyTorch eager fp32 (fused)"
    if torch_eager:
        torch.set_num_threads(threads)
        model = prepare_model(None, cfg, random_init=True)
        timage = torch.from_numpy(image)

        def eager() -> object:
            with torch.inference_mode():
                return model.image_encoder(timage)

        runners[eager_name] = eager
    enc_ms = interleaved_ms(runners, repeats)
    base = enc_ms["ORT fp32"]
    enc_rows = [[name, cfg.image_size, k, f"{t.wall:.1f}", f"{t.cpu:.1f}",
                 f"{1000 / t.wall:.1f}", f"{base.wall / t.wall:.2f}x"]
                for k, t in enc_ms.items()]

    emb = enc["fp32"].run(["image_embeddings"], {"image": image})[0]
    feeds = {n: decoder_feeds(emb, n, cfg.image_size, rng) for n in objects}
    one = {n: [{k: v[i:i + 1] if k != "image_embeddings" else v for k, v in f.items()}
               for i in range(n)] for n, f in feeds.items()}
    d = dec["fp32"]
    runs: dict[str, Runner] = {}
    for n in objects:
        runs[f"b{n}"] = lambda f=feeds[n]: d.run(None, f)
        runs[f"l{n}"] = lambda fs=one[n]: [d.run(None, f) for f in fs]
    dec_ms = interleaved_ms(runs, repeats)
    first = dec_ms[f"b{objects[0]}"]
    dec_rows = [[name, n, f"{dec_ms[f'b{n}'].wall:.1f}", f"{dec_ms[f'b{n}'].cpu:.1f}",
                 f"{dec_ms[f'l{n}'].wall:.1f}", f"{dec_ms[f'b{n}'].wall / first.wall:.2f}x"]
                for n in objects]

    prompts = feeds[max(objects)]
    ref = d.run(["masks"], prompts)[0]
    acc_rows, enc_ious = [], {}
    for k in ("fp16", "int8"):
        emb_k = enc[k].run(["image_embeddings"], {"image": image})[0]
        with_k = dict(prompts, image_embeddings=emb_k)
        enc_ious[k] = mask_iou(d.run(["masks"], with_k)[0], ref)
        acc_rows.append([name, k, f"{enc_ious[k]:.3f}",
                         f"{mask_iou(dec[k].run(['masks'], with_k)[0], ref):.3f}",
                         f"{base.wall / enc_ms[f'ORT {k}'].wall:.2f}x"])

    def ratio(num: Timing, den: Timing) -> tuple[float, float]:
        return num.wall / den.wall, num.cpu / den.cpu

    lo, hi = (dec_ms[f"b{n}"] for n in TARGET_OBJECTS)
    ratios = {
        "encoder": ratio(enc_ms[eager_name], base) if torch_eager else (None, None),
        "decoder": ratio(hi, lo),
        "int8_speed": ratio(base, enc_ms["ORT int8"]),
        "int8_iou": (enc_ious["int8"], enc_ious["int8"]),
    }
    return VariantResult(enc_rows, dec_rows, acc_rows, ratios)


def target_rows(results: dict[str, VariantResult]) -> list[list[object]]:
    """One row per target and variant: required value, measured wall/CPU value, verdicts."""
    rows = []
    for target in TARGETS:
        for name, result in results.items():
            wall, cpu = result.ratios[target.key]
            sign = ">=" if target.at_least else "<="
            rows.append([target.text, name, f"{sign} {target.required}",
                         "-" if wall is None else f"{wall:.2f}", target.verdict(wall),
                         "-" if cpu is None else f"{cpu:.2f}", target.verdict(cpu)])
    return rows


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros bench engine", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", default=None,
                   help="comma list; NAME@SIZE overrides the input size "
                        "(default edgesam,tiny,tiny@384; --quick: tiny)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads for ORT and torch")
    p.add_argument("--repeats", type=int, default=None, help="default 5; --quick: 3")
    p.add_argument("--objects", default=None,
                   help="comma list of decoder batch sizes, 1 and 10 always included "
                        "(default 1,5,10,20; --quick: 1,10)")
    p.add_argument("--quick", action="store_true",
                   help="tiny variant only, 3 repeats, 1 and 10 objects: a smoke run; the "
                        "targets are defined on full-size EdgeSAM")
    p.add_argument("--work-dir", default=None, help="where models are exported (default: tmp)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch eager column")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import tempfile

    import onnxruntime as ort

    from ..models.config import get_config

    variants = args.variants or ("tiny" if args.quick else "edgesam,tiny,tiny@384")
    repeats = args.repeats or (3 if args.quick else 5)
    objects = sorted({int(n) for n in (args.objects or ("1,10" if args.quick else "1,5,10,20")
                                       ).split(",")} | set(TARGET_OBJECTS))
    load_before = os.getloadavg()[0]
    results: dict[str, VariantResult] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work_dir or tmp)
        for spec in variants.split(","):
            variant, _, size = spec.partition("@")
            cfg = get_config(variant)
            if size:
                cfg = replace(cfg, image_size=int(size))
            results[spec.replace("@", "-")] = bench_variant(
                spec.replace("@", "-"), cfg, work, args.threads, repeats, objects,
                not args.no_torch)
    cpu_note = ("CPU = median CPU time of the calling thread" if args.threads == 1 else
                "CPU counts only the calling thread, so with more threads it undercounts")
    print(f"Providers available: {', '.join(ort.get_available_providers())}; measured on "
          f"CPUExecutionProvider (ORT_ENABLE_ALL), {args.threads} intra-op thread(s) for ORT "
          f"and PyTorch, medians of {repeats} interleaved runs, random weights; {cpu_note}. "
          f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
          f"on {os.cpu_count()} CPUs.\n")
    rows = {key: [r for res in results.values() for r in getattr(res, key)]
            for key in ("encoder_rows", "decoder_rows", "accuracy_rows")}
    print("### Encoder\n")
    print(_table(["variant", "S", "runtime", "ms", "CPU ms", "FPS", "speed vs ORT fp32"],
                 rows["encoder_rows"]))
    print("\n### Decoder (fp32), B objects: one batched call vs a loop of batch-1 calls\n")
    print(_table(["variant", "objects", "batched ms", "batched CPU ms", "loop ms",
                  "batched vs 1 object"], rows["decoder_rows"]))
    print("\n### Reduced precision vs fp32 (mask IoU on the same prompts)\n")
    print(_table(["variant", "precision", "IoU (enc only)", "IoU (enc+dec)",
                  "encoder speed-up"], rows["accuracy_rows"]))
    print(f"\n### Targets (defined on {TARGET_VARIANT} at 1024; other variants for reference)\n")
    print(_table(["target", "variant", "required", "wall", "wall result", "CPU", "CPU result"],
                 target_rows(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
