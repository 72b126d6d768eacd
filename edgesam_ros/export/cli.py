"""Command line for the exporter: ``edgesam-ros export`` calls :func:`main`."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from ..models.config import VARIANTS
from ..models.edgetam.config import VARIANTS as EDGETAM_VARIANTS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="edgesam-ros export",
        description="Export EdgeSAM to encoder.onnx + decoder.onnx (docs/architecture.md), "
                    "or EdgeTAM (--family edgetam) to its four graphs (docs/edgetam.md).")
    p.add_argument("checkpoint", nargs="?", default=None,
                   help="EdgeSAM .pth (bare state_dict or {'model': ...}); omit with --random-init")
    p.add_argument("--family", default="edgesam", choices=["edgesam", "edgetam"],
                   help="edgetam: CHECKPOINT is the official edgetam.pt; writes the memory "
                        "tracker's four graphs (--int8 and --rpn do not apply)")
    p.add_argument("--variant", default=None,
                   choices=sorted(VARIANTS) + sorted(EDGETAM_VARIANTS),
                   help="default: edgesam, or edgetam with --family edgetam")
    p.add_argument("--out-dir", "-o", required=True, help="directory for the .onnx files")
    p.add_argument("--fp16", action="store_true", help="also write *.fp16.onnx")
    p.add_argument("--int8", action="store_true",
                   help="also write *.int8.onnx (static QDQ encoder, dynamic decoder)")
    p.add_argument("--rpn", action="store_true",
                   help="include the RPN head: encoder gains proposal_boxes/proposal_scores")
    p.add_argument("--random-init", action="store_true",
                   help="export deterministic random weights (for tests and plumbing)")
    p.add_argument("--opset", type=int, default=17)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.checkpoint is None and not args.random_init:
        build_parser().error("give a checkpoint or --random-init")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.family == "edgetam":
        return _export_edgetam(args)
    variant = args.variant or "edgesam"
    if variant not in VARIANTS:
        build_parser().error(f"--variant {variant} is an EdgeTAM variant; add --family edgetam")
    from .onnx_export import export_onnx  # torch is imported only when exporting

    written = export_onnx(args.checkpoint, variant, args.out_dir, fp16=args.fp16,
                          int8=args.int8, rpn=args.rpn, random_init=args.random_init,
                          opset=args.opset)
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def _export_edgetam(args: argparse.Namespace) -> int:
    variant = args.variant or "edgetam"
    if variant not in EDGETAM_VARIANTS or args.int8 or args.rpn:
        build_parser().error(f"--family edgetam takes --variant {sorted(EDGETAM_VARIANTS)}, "
                             "and neither --int8 nor --rpn")
    from .edgetam_export import export_edgetam  # torch is imported only when exporting

    written = export_edgetam(args.checkpoint, args.out_dir, variant=variant, fp16=args.fp16,
                             random_init=args.random_init, opset=args.opset)
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
