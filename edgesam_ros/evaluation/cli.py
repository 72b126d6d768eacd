"""`edgesam-ros eval`: segmentation quality of an encoder/decoder pair on held-out scenes.

Prints a markdown table: box-prompt mIoU, single-point mIoU (the point is the object's most
interior pixel), mIoU after k correction clicks, RPN box recall at IoU 0.5 (models with
proposal outputs) and the median encode / one-object decode time. Default model: the bundled one.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from edgesam_ros.engine.config import SELECTIONS, EngineConfig
from edgesam_ros.engine.engine import SamEngine

from .heldout import heldout_scenes
from .segmentation import evaluate, markdown_table


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros eval", description=__doc__.splitlines()[0])
    p.add_argument("--encoder", help="encoder ONNX (default: the bundled model)")
    p.add_argument("--decoder", help="decoder ONNX (default: the bundled model)")
    p.add_argument("--scenes", type=int, default=200, help="held-out scenes (default: 200)")
    p.add_argument("--clicks", type=int, default=3, help="correction clicks after the first")
    p.add_argument("--threads", type=int, default=1,
                   help="onnxruntime threads; 1 measures single-core latency (default: 1)")
    p.add_argument("--selection", choices=SELECTIONS, default="family",
                   help="mask choice rule (default: family, the model family's upstream rule)")
    p.add_argument("--providers", default="cpu", help="comma-separated providers (default: cpu)")
    p.add_argument("--proposal-threshold", type=float,
                   default=EngineConfig().proposal_score_threshold,
                   help="RPN score threshold before NMS (default: the engine's, %(default)s)")
    return p


def make_engine(encoder: str | None, decoder: str | None, config: EngineConfig) -> SamEngine:
    if (encoder is None) != (decoder is None):
        raise SystemExit("give both --encoder and --decoder, or neither for the bundled model")
    if encoder is None:
        return SamEngine.bundled(config)
    return SamEngine(encoder, decoder, config)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = replace(EngineConfig(), providers=tuple(args.providers.split(",")),
                     intra_op_threads=args.threads, inter_op_threads=1,
                     selection=args.selection,
                     proposal_score_threshold=args.proposal_threshold)
    engine = make_engine(args.encoder, args.decoder, config)
    report = evaluate(engine, heldout_scenes(args.scenes), args.clicks)
    title = (f"{Path(engine.info.encoder_path).name} + {Path(engine.info.decoder_path).name}, "
             f"{args.scenes} held-out scenes, {args.threads} thread(s), "
             f"{engine.info.encoder_provider}, selection={engine.selection}, "
             f"proposal threshold {args.proposal_threshold}")
    print(markdown_table(report, title))
    return 0
