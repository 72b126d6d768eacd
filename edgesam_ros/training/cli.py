"""`edgesam-ros train`: distil an EdgeSAM variant on procedural scenes, optionally export it.

Re-running the same command with ``--resume`` continues from ``OUT/checkpoint.pt``. With
``--export DIR`` the trained model (with its RPN) is written under the bundled model's file names
(`edgesam_tiny_encoder.onnx`, `edgesam_tiny_decoder.onnx`, what `SamEngine.bundled()` loads).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path

import torch

from edgesam_ros.bags.errors import run_cli
from edgesam_ros.engine import ModelError
from edgesam_ros.engine.bundled import DECODER_FILE, ENCODER_FILE
from edgesam_ros.export.cli import removed_on_failure
from edgesam_ros.models import CheckpointError

from .config import TrainConfig, resolve_variant
from .loop import Trainer
from .teacher import OnnxTeacher

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros train", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="run directory (checkpoints, model.pt)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--init", type=Path, help="start from the model.pt of an earlier run")
    p.add_argument("--teacher-encoder", help="teacher encoder ONNX (enables stage 1)")
    p.add_argument("--teacher-decoder", help="teacher decoder ONNX (stage-2 targets; default: "
                   "procedural ground truth)")
    p.add_argument("--export", type=Path, metavar="DIR", help="export the result to DIR")
    p.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        value = getattr(defaults, f.name)
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(value), default=value,
                       help=f"(default: {value})")
    return p


def export_bundle(model_file: Path, variant: str, out_dir: Path) -> tuple[Path, Path]:
    """Export ``model_file`` (with its RPN) under the bundled file names."""
    from edgesam_ros.export.onnx_export import export_onnx

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        written = export_onnx(model_file, resolve_variant(variant), tmp, rpn=True)
        targets = out_dir / ENCODER_FILE, out_dir / DECODER_FILE
        shutil.move(written["encoder"], targets[0])
        shutil.move(written["decoder"], targets[1])
    return targets


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)

    def body() -> int:
        cfg = replace(TrainConfig(), **{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
        teacher = (OnnxTeacher(args.teacher_encoder, args.teacher_decoder)
                   if args.teacher_encoder else None)
        device = torch.device(args.device) if args.device else None
        started = time.monotonic()
        model_file = Trainer(cfg, args.out, teacher, device).run(resume=args.resume,
                                                                 init=args.init)
        log.info("trained in %.1f min: %s", (time.monotonic() - started) / 60, model_file)
        if args.export:
            with removed_on_failure(args.export):
                for path in export_bundle(model_file, cfg.variant, args.export):
                    log.info("wrote %s", path)
        return 0

    return run_cli("edgesam-ros train", body, (CheckpointError, ModelError, ValueError, OSError))
