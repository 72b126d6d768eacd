"""Engine benchmark: ONNX Runtime vs PyTorch, precisions, variants, decoder batching.

Exports random-weight models (deterministic seed, BN statistics randomised so every branch
does real work), then measures everything it compares in one interleaved loop and reports
medians, so slow drifts of a shared machine hit all contenders alike. Prints markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

Runner = Callable[[], object]


def interleaved_ms(runners: dict[str, Runner], repeats: int) -> dict[str, float]:
    """Median wall time (ms) of each runner, run round-robin after one warm-up call each."""
    for run in runners.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


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


def bench_variant(name: str, cfg, work: Path, threads: int, repeats: int,
                  objects: Sequence[int], torch_eager: bool) -> tuple[list, list, list]:
    """Encoder rows, decoder-batching rows and precision-accuracy rows for one variant."""
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
    if torch_eager:
        torch.set_num_threads(threads)
        model = prepare_model(None, cfg, random_init=True)
        timage = torch.from_numpy(image)

        def eager() -> object:
            with torch.inference_mode():
                return model.image_encoder(timage)

        runners["PyTorch eager fp32 (fused)"] = eager
    enc_ms = interleaved_ms(runners, repeats)
    base = enc_ms["ORT fp32"]
    enc_rows = [[name, cfg.image_size, k, f"{ms:.1f}", f"{1000 / ms:.1f}", f"{base / ms:.2f}x"]
                for k, ms in enc_ms.items()]

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
    dec_rows = [[name, n, f"{dec_ms[f'b{n}']:.1f}", f"{dec_ms[f'l{n}']:.1f}",
                 f"{dec_ms[f'b{n}'] / first:.2f}x"] for n in objects]

    prompts = feeds[max(objects)]
    ref = d.run(["masks"], prompts)[0]
    acc_rows = []
    for k in ("fp16", "int8"):
        emb_k = enc[k].run(["image_embeddings"], {"image": image})[0]
        with_k = dict(prompts, image_embeddings=emb_k)
        acc_rows.append([name, k, f"{mask_iou(d.run(['masks'], with_k)[0], ref):.3f}",
                         f"{mask_iou(dec[k].run(['masks'], with_k)[0], ref):.3f}",
                         f"{enc_ms['ORT fp32'] / enc_ms[f'ORT {k}']:.2f}x"])
    return enc_rows, dec_rows, acc_rows


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros bench-engine", description=__doc__)
    p.add_argument("--variants", default="edgesam,tiny,tiny@384",
                   help="comma list; NAME@SIZE overrides the input size")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads for ORT and torch")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--objects", default="1,5,10,20")
    p.add_argument("--work-dir", default=None, help="where models are exported (default: tmp)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch eager column")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import tempfile

    import onnxruntime as ort

    from ..models.config import get_config

    objects = [int(n) for n in args.objects.split(",")]
    enc_rows, dec_rows, acc_rows = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work_dir or tmp)
        for spec in args.variants.split(","):
            variant, _, size = spec.partition("@")
            cfg = get_config(variant)
            if size:
                cfg = replace(cfg, image_size=int(size))
            e, dr, a = bench_variant(spec.replace("@", "-"), cfg, work, args.threads,
                                     args.repeats, objects, not args.no_torch)
            enc_rows += e
            dec_rows += dr
            acc_rows += a
    print(f"Providers available: {', '.join(ort.get_available_providers())}; measured on "
          f"CPUExecutionProvider, {args.threads} intra-op thread(s) for ORT and PyTorch, "
          f"medians of {args.repeats} interleaved runs, random weights.\n")
    print("### Encoder\n")
    print(_table(["variant", "S", "runtime", "ms", "FPS", "speed vs ORT fp32"], enc_rows))
    print("\n### Decoder (fp32), B objects: one batched call vs a loop of batch-1 calls\n")
    print(_table(["variant", "objects", "batched ms", "loop ms", "batched vs 1 object"],
                 dec_rows))
    print("\n### Reduced precision vs fp32 (mask IoU on the same prompts)\n")
    print(_table(["variant", "precision", "IoU (enc only)", "IoU (enc+dec)",
                  "encoder speed-up"], acc_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
