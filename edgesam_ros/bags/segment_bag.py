"""`edgesam-ros segment-bag IN OUT`: segment every frame of a bag offline, without middleware.

The work is `offline.segment`; this module parses the command line, loads the model, shows a
progress bar and prints a summary (with J&F when IN is a fixture bag with ground truth).
Exit codes: 0 done, 2 bad input (one line saying what), 130 stopped by Ctrl-C (OUT then holds
the frames done so far).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from edgesam_ros.engine import ModelError, SamEngine
from edgesam_ros.engine.edgetam import EdgeTamFiles, EdgeTamRuntime
from edgesam_ros.tracking import UserPrompt

from . import prompts_file
from .errors import EXIT_INTERRUPTED, BagError, run_cli
from .evaluate import score, score_matched
from .groundtruth import NPZ_NAME, GroundTruth
from .offline import SegmentOptions, SegmentSummary, check_paths, inspect_input, segment
from .storage import STORAGES, open_bag


def _numbers(text: str, count: int, what: str) -> tuple[list[float], str]:
    """The numbers of "n1,n2,...[,label=NAME]" and the label ("" without one); the label is
    everything after "label=", commas included."""
    text, _, label = text.partition(",label=")
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise argparse.ArgumentTypeError(
            f"{what} needs {count} comma-separated numbers, then optionally label=NAME: {text!r}")
    return values, label


def _point(text: str) -> UserPrompt:
    point, label = _numbers(text, 2, "--prompt")
    return UserPrompt(points=[point], labels=[1], label=label)


def _box(text: str) -> UserPrompt:
    box, label = _numbers(text, 4, "--box")
    return UserPrompt(box=box, label=label)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros segment-bag",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("input", type=Path, help="bag to read")
    p.add_argument("output", type=Path, help="bag to write (refused if it exists)")
    p.add_argument("--image-topic", default="/camera/image_raw",
                   help="sensor_msgs/Image or CompressedImage topic (default /camera/image_raw)")
    p.add_argument("--prompts-topic", action="append", dest="prompt_topics",
                   help="ObjectPromptArray/ObjectPrompt topic (repeatable; default: all in IN)")
    p.add_argument("--prompt", type=_point, action="append", default=[],
                   metavar="X,Y[,label=NAME]",
                   help="start an object at this pixel on the first frame (repeatable)")
    p.add_argument("--box", type=_box, action="append", default=[],
                   metavar="X1,Y1,X2,Y2[,label=NAME]",
                   help="start an object in this box on the first frame (repeatable)")
    p.add_argument("--prompts-file", type=Path, metavar="FILE.yaml",
                   help="objects to start, each with a frame, label, box and/or points "
                        "(format: edgesam_ros/bags/prompts_file.py)")
    p.add_argument("--auto", action="store_true", help="also start objects from proposals")
    p.add_argument("--storage", choices=sorted(STORAGES), help="output storage (default: IN's)")
    p.add_argument("--output-ns", default="/edgesam", help="namespace of the output topics")
    p.add_argument("--mp4", type=Path, help="also write the overlay as an MP4 video")
    p.add_argument("--overwrite", action="store_true", help="replace OUT (and the MP4)")
    p.add_argument("--encoder", type=Path, help="encoder ONNX (default: the bundled model)")
    p.add_argument("--decoder", type=Path, help="decoder ONNX (default: the bundled model)")
    p.add_argument("--edgetam", type=Path, metavar="DIR",
                   help="track with EdgeTAM's memory (tracker.mode memory) on the graphs in DIR "
                   "instead of EdgeSAM (docs/edgetam.md)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def load_engine(encoder: Path | None, decoder: Path | None) -> SamEngine:
    """The given model or the bundled one; BagError saying which file is unusable."""
    if (encoder is None) != (decoder is None):
        raise BagError("give both --encoder and --decoder, or neither (bundled model)")
    try:
        return SamEngine(encoder, decoder) if encoder else SamEngine.bundled()
    except ModelError as error:
        raise BagError(f"cannot load the model: {error}") from None


def load_edgetam(directory: Path, args: argparse.Namespace) -> EdgeTamRuntime:
    """EdgeTAM's graphs for memory tracking; BagError for options it cannot honour or bad files."""
    if args.encoder or args.decoder or args.auto:
        raise BagError("--edgetam replaces the EdgeSAM model and has no proposals: drop "
                       "--encoder/--decoder/--auto")
    try:
        return EdgeTamRuntime(EdgeTamFiles.from_dir(directory))
    except ModelError as error:
        raise BagError(f"cannot load EdgeTAM: {error}") from None


def print_summary(
    summary: SegmentSummary, out: Path, truth: GroundTruth | None, own_ids: bool = False
) -> None:
    """The run's summary; J&F against `truth` if given. `own_ids`: objects did not (all) come
    from the fixture's prompts, so their ids are matched to the ground truth's by overlap."""
    state = "interrupted after" if summary.interrupted else "segmented"
    print(f"{state} {summary.frames}/{summary.total_frames} frames in {summary.seconds:.1f} s "
          f"({summary.fps:.1f} fps), {len(summary.objects)} objects -> {out}")
    if summary.rejected:
        print(f"{len(summary.rejected)} rejected prompt(s), first: {summary.rejected[0]}")
    if truth is not None and summary.id_images:
        if own_ids:
            result = score_matched(truth, summary.id_images)
            print(f"vs ground truth (ids matched by overlap): {result}")
        else:
            print(f"vs ground truth: {score(truth, summary.id_images)}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = SegmentOptions(
        image_topic=args.image_topic,
        prompt_topics=tuple(args.prompt_topics) if args.prompt_topics else None,
        prompts=(*args.prompt, *args.box),
        auto=args.auto,
        storage=args.storage,
        output_ns=args.output_ns,
        mp4=args.mp4,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )

    def body() -> int:
        if args.prompts_file is not None:
            options.frame_prompts = tuple(prompts_file.load(args.prompts_file))
        check_paths(args.input, args.output, options)  # before the model takes seconds to load
        with open_bag(args.input) as reader:
            inspect_input(reader, options)
        engine = (load_edgetam(args.edgetam, args) if args.edgetam
                  else load_engine(args.encoder, args.decoder))
        try:
            summary = segment(engine, args.input, args.output, options)
        except KeyboardInterrupt:
            print(f"segment-bag: aborted; {args.output} was not written", file=sys.stderr)
            return EXIT_INTERRUPTED
        truth = GroundTruth.load(args.input) if (args.input / NPZ_NAME).is_file() else None
        own_ids = bool(options.prompts or options.frame_prompts or options.auto)
        print_summary(summary, args.output, truth, own_ids=own_ids)
        return EXIT_INTERRUPTED if summary.interrupted else 0

    return run_cli("segment-bag", body)
