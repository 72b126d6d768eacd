"""Command line for the exporter: ``edgesam-ros export`` calls :func:`main`."""

from __future__ import annotations

import argparse
import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..bags.errors import run_cli
from ..models.config import UPSAMPLE_MODES, VARIANTS
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
    p.add_argument("--upsample", choices=UPSAMPLE_MODES, default="bicubic",
                   help="neck x2 upsampling: bicubic (default) as the official weights were "
                        "trained; bilinear as upstream's ONNX script, for runtimes without a "
                        "cubic Resize")
    return p


@contextmanager
def removed_on_failure(out: Path) -> Iterator[None]:
    """Remove what a failed export created in `out` (the folder itself if it was new); files
    that were there before stay."""
    before = set(out.iterdir()) if out.is_dir() else None
    try:
        yield
    except BaseException:
        if before is None:
            shutil.rmtree(out, ignore_errors=True)
        elif out.is_dir():
            for path in set(out.iterdir()) - before:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        raise


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

    return _written(args, lambda: export_onnx(
        args.checkpoint, variant, args.out_dir, fp16=args.fp16, int8=args.int8, rpn=args.rpn,
        random_init=args.random_init, opset=args.opset, upsample=args.upsample))


def _export_edgetam(args: argparse.Namespace) -> int:
    variant = args.variant or "edgetam"
    if variant not in EDGETAM_VARIANTS or args.int8 or args.rpn:
        build_parser().error(f"--family edgetam takes --variant {sorted(EDGETAM_VARIANTS)}, "
                             "and neither --int8 nor --rpn")
    from .edgetam_export import export_edgetam  # torch is imported only when exporting

    return _written(args, lambda: export_edgetam(
        args.checkpoint, args.out_dir, variant=variant, fp16=args.fp16,
        random_init=args.random_init, opset=args.opset))


def _written(args: argparse.Namespace, export: Callable[[], dict[str, Path]]) -> int:
    """Run `export` and print what it wrote; bad input (a missing or corrupt checkpoint, a bad
    option) is one line and exit 2, and a failed export leaves nothing behind in OUT."""
    from ..models import CheckpointError

    def body() -> int:
        with removed_on_failure(Path(args.out_dir)):
            written = export()
        for name, path in written.items():
            print(f"{name}: {path}")
        return 0

    return run_cli("edgesam-ros export", body, (CheckpointError, ValueError, OSError))


if __name__ == "__main__":
    raise SystemExit(main())
