"""`edgesam-ros dataset SEGMENTED_BAG OUT --format coco|yolo|masks`: a training dataset from the
images and segmentation results of a bag.

Exit codes: 0 done (the dataset may be empty: the summary says why), 2 bad input (one line
saying what), 130 stopped by Ctrl-C (OUT not written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from edgesam_ros.bags.errors import EXIT_INTERRUPTED, run_cli

from .export import WRITERS, ExportOptions, export
from .selection import Selection


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros dataset", description=__doc__.split("\n\n")[0])
    p.add_argument("input", type=Path, help="bag with images and SegmentationArray results")
    p.add_argument("output", type=Path, help="dataset directory to write (refused if it exists)")
    p.add_argument("--format", choices=sorted(WRITERS), default="coco",
                   help="coco (RLE instance masks), yolo (Ultralytics segmentation polygons) or "
                        "masks (16-bit instance and class PNGs); default coco")
    p.add_argument("--image-topic", default="/camera/image_raw",
                   help="sensor_msgs/Image or CompressedImage topic (default /camera/image_raw)")
    p.add_argument("--segmentation-topic",
                   help="SegmentationArray topic (default: the bag's only one)")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="take every Nth frame that has objects (default 1)")
    p.add_argument("--min-change", type=float, default=0.0, metavar="X",
                   help="skip frames whose mean absolute difference from the last frame taken, "
                        "in grey levels on 64-pixel-wide grey thumbnails, is below X (default 0)")
    p.add_argument("--val-fraction", type=float, default=0.2, metavar="F",
                   help="fraction of time blocks for validation (default 0.2; 0 = no val split)")
    p.add_argument("--blocks", type=int, default=10,
                   help="equal time blocks the recording is cut into for the split (default 10)")
    p.add_argument("--keep-empty", action="store_true",
                   help="also write frames without objects (as negatives)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    try:
        selection = Selection(every=args.every, min_change=args.min_change,
                              val_fraction=args.val_fraction, blocks=args.blocks,
                              keep_empty=args.keep_empty)
    except ValueError as error:
        cli.error(str(error))
    options = ExportOptions(format=args.format, image_topic=args.image_topic,
                            segmentation_topic=args.segmentation_topic, selection=selection,
                            overwrite=args.overwrite, progress=not args.no_progress)

    def body() -> int:
        try:
            summary = export(args.input, args.output, options)
        except KeyboardInterrupt:
            print(f"dataset: aborted; {args.output} was not written", file=sys.stderr)
            return EXIT_INTERRUPTED
        print("\n".join(summary.lines()))
        return 0

    return run_cli("dataset", body)
