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


@dataclass(frozen=True)
class DecoderMacs:
    """Multiply-accumulates of SAM's mask decoder for one frame, split by what they depend on.

    ``shared``: work on the image embedding alone, done once per frame however many objects
    (the first two-way layer's key/value projections of the image tokens for token-to-image
    attention and their query projection for image-to-token attention, as the PyTorch
    decoder broadcasts them). ``per_object``: everything else; after the first layer's
    image-to-token attention each object has its own image tokens, so the second layer, the
    final attention and the upscaling are per object.
    """

    shared: int
    per_object: int

    def floor(self, objects: int) -> float:
        """Least time of ``objects`` objects over one object when compute bounds the time."""
        return (self.shared + objects * self.per_object) / (self.shared + self.per_object)


def decoder_macs(cfg, points: int = 2) -> DecoderMacs:
    """:class:`DecoderMacs` of the model's mask decoder for prompts of ``points`` points
    (one click plus SAM's padding point by default), without a mask input."""
    c, n, k = cfg.embed_dim, cfg.embedding_size ** 2, cfg.num_mask_tokens
    t = 1 + k + points  # IoU token, mask tokens, prompt tokens
    inner = c // cfg.attention_downsample
    image_proj = n * c * inner  # one projection of the image tokens to or from `inner`
    # Either direction: two token-side projections, logits and mixing, two image-side ones.
    cross = 2 * t * c * inner + 2 * t * n * inner + 2 * image_proj
    layer = 4 * t * c * c + 2 * t * t * c + 2 * t * c * cfg.decoder_mlp_dim + 2 * cross
    upscale = 4 * n * c * (c // 4) + 16 * n * (c // 4) * (c // 8)
    hyper = k * (2 * c * c + c * (c // 8)) + k * 16 * n * (c // 8)
    hid = cfg.iou_head_hidden_dim
    iou = c * hid + (cfg.iou_head_depth - 2) * hid * hid + hid * k
    total = cfg.decoder_depth * layer + cross + upscale + hyper + iou
    shared = 3 * image_proj
    return DecoderMacs(shared, total - shared)


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
    macs: DecoderMacs


def provider_rows(name: str, cfg, paths: dict[str, Path], provider: str, threads: int,
                  repeats: int, image: np.ndarray, feeds: dict[int, dict[str, np.ndarray]],
                  work: Path) -> tuple[list[list[object]], list[list[object]]]:
    """Encoder (fp32, fp16) and batched-decoder rows on a GPU ``provider``, opened as the
    engine opens it (TensorRT: FP16 and an engine cache, built on the warm-up call); no rows
    when the provider falls back to the CPU."""
    from ..engine.config import EngineConfig
    from ..engine.providers import ProviderChain

    config = EngineConfig(providers=(provider,), intra_op_threads=threads, inter_op_threads=1,
                          trt_cache_dir=str(work / "trt_cache"))
    chain = ProviderChain(config)
    short = provider.removesuffix("ExecutionProvider")
    opened = {k: chain.open(str(paths[f"encoder{s}"]), "encoder")
              for k, s in (("fp32", ""), ("fp16", "_fp16"))}
    dec, used = chain.open(str(paths["decoder"]), "decoder")
    if used != provider or any(u != provider for _, u in opened.values()):
        return [], []
    enc_ms = interleaved_ms({k: (lambda s=s: s.run(None, {"image": image}))
                             for k, (s, _) in opened.items()}, repeats)
    enc_rows = [[name, cfg.image_size, short, f"ORT {k}", f"{t.wall:.1f}", "-",
                 f"{1000 / t.wall:.1f}", "-"] for k, t in enc_ms.items()]
    dec_ms = interleaved_ms({n: (lambda f=f: dec.run(None, f)) for n, f in feeds.items()},
                            repeats)
    first = dec_ms[min(feeds)]
    dec_rows = [[name, short, n, f"{t.wall:.1f}", "-", "-", f"{t.wall / first.wall:.2f}x"]
                for n, t in dec_ms.items()]
    return enc_rows, dec_rows


def bench_variant(name: str, cfg, work: Path, threads: int, repeats: int,
                  objects: Sequence[int], torch_eager: bool,
                  gpu_providers: Sequence[str] = ()) -> VariantResult:
    """Encoder, decoder-batching and precision-accuracy measurements of one variant, on the
    CPU and on each of ``gpu_providers`` that loads."""
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
    enc_rows = [[name, cfg.image_size, "CPU", k, f"{t.wall:.1f}", f"{t.cpu:.1f}",
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
    dec_rows = [[name, "CPU", n, f"{dec_ms[f'b{n}'].wall:.1f}", f"{dec_ms[f'b{n}'].cpu:.1f}",
                 f"{dec_ms[f'l{n}'].wall:.1f}", f"{dec_ms[f'b{n}'].wall / first.wall:.2f}x"]
                for n in objects]

    for provider in gpu_providers:
        more_enc, more_dec = provider_rows(name, cfg, paths, provider, threads, repeats, image,
                                           feeds, work)
        enc_rows += more_enc
        dec_rows += more_dec

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
    return VariantResult(enc_rows, dec_rows, acc_rows, ratios, decoder_macs(cfg))


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
    p.add_argument("--providers", default="cpu",
                   help="comma list: cpu plus GPU providers (cuda, tensorrt) to measure too, "
                        "opened as the engine opens them; unavailable ones are skipped "
                        "(targets are judged on cpu)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch eager column")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import tempfile

    import onnxruntime as ort

    from ..engine.config import EngineConfig
    from ..engine.providers import CPU
    from ..models.config import get_config

    variants = args.variants or ("tiny" if args.quick else "edgesam,tiny,tiny@384")
    repeats = args.repeats or (3 if args.quick else 5)
    objects = sorted({int(n) for n in (args.objects or ("1,10" if args.quick else "1,5,10,20")
                                       ).split(",")} | set(TARGET_OBJECTS))
    available = set(ort.get_available_providers())
    gpu = [n for n in EngineConfig(providers=tuple(args.providers.split(","))).provider_names
           if n != CPU]
    skipped = [n for n in gpu if n not in available]
    gpu = [n for n in gpu if n in available]
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
                not args.no_torch, gpu)
    cpu_note = ("CPU = median CPU time of the calling thread" if args.threads == 1 else
                "CPU counts only the calling thread, so with more threads it undercounts")
    print(f"Providers available: {', '.join(ort.get_available_providers())}; measured on "
          f"{', '.join([CPU, *gpu])} (ORT_ENABLE_ALL), {args.threads} intra-op thread(s) for ORT "
          f"and PyTorch, medians of {repeats} interleaved runs, random weights; {cpu_note}. "
          f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
          f"on {os.cpu_count()} CPUs."
          + (f" Not in this onnxruntime build, skipped: {', '.join(skipped)}." if skipped else "")
          + "\n")
    rows = {key: [r for res in results.values() for r in getattr(res, key)]
            for key in ("encoder_rows", "decoder_rows", "accuracy_rows")}
    print("### Encoder\n")
    print(_table(["variant", "S", "provider", "runtime", "ms", "CPU ms", "FPS",
                  "speed vs ORT fp32"], rows["encoder_rows"]))
    print("\n### Decoder (fp32), B objects: one batched call vs a loop of batch-1 calls\n")
    print(_table(["variant", "provider", "objects", "batched ms", "batched CPU ms", "loop ms",
                  "batched vs 1 object"], rows["decoder_rows"]))
    for name, res in results.items():
        m, lo, hi = res.macs, *TARGET_OBJECTS
        print(f"\n{name}: SAM's decoder does {m.shared / 1e6:.0f} MMAC per frame on the image "
              f"embedding alone and {m.per_object / 1e6:.0f} MMAC per object, so compute alone "
              f"makes {hi} objects take at least {m.floor(hi) / m.floor(lo):.2f}x the time of "
              f"{lo} (decoder_macs).")
    print("\n### Reduced precision vs fp32 (mask IoU on the same prompts)\n")
    print(_table(["variant", "precision", "IoU (enc only)", "IoU (enc+dec)",
                  "encoder speed-up"], rows["accuracy_rows"]))
    print(f"\n### Targets (defined on {TARGET_VARIANT} at 1024; other variants for reference)\n")
    print(_table(["target", "variant", "required", "wall", "wall result", "CPU", "CPU result"],
                 target_rows(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
