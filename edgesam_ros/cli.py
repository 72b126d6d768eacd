"""The `edgesam-ros` command: one entry point for the package's offline tools.

Each subcommand lives in its own module with a `main(argv)` and is imported only when chosen, so
`edgesam-ros prompt` doesn't load torch and `edgesam-ros export` doesn't load rclpy.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

#: subcommand -> ("module:function", one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "prompt": ("edgesam_ros.ros.prompt_cli:main", "send a point/box/remove/clear prompt to a node"),
    "segment-bag": ("edgesam_ros.bags.segment_bag:main", "segment every frame of a rosbag offline"),
    "make-bag": (
        "edgesam_ros.bags.fixtures:main",
        "write a procedural camera bag with ground truth",
    ),
    "play": ("edgesam_ros.bags.replay:main", "replay a bag on rclpy (timing, rate, loop, remap)"),
    "dataset": (
        "edgesam_ros.datasets.cli:main",
        "COCO / YOLO / mask-image training dataset from a segmented bag",
    ),
    "demo": ("edgesam_ros.demo:main", "the demo: bag -> live node + offline path -> out/"),
    "eval": ("edgesam_ros.evaluation.cli:main", "mIoU of a model on held-out procedural scenes"),
    "eval-tracking": (
        "edgesam_ros.tracking.evaluate:main",
        "J&F of prompt propagation on procedural sequences",
    ),
    "export": ("edgesam_ros.export.cli:main",
               "EdgeSAM checkpoint -> encoder.onnx + decoder.onnx (EdgeTAM: four graphs)"),
    "triton-repo": (
        "edgesam_ros.serving.repository:main",
        "encoder + decoder ONNX -> Triton Inference Server model repository",
    ),
    "train": ("edgesam_ros.training.cli:main", "distil an EdgeSAM variant on procedural scenes"),
    "bench": ("edgesam_ros.bench.cli:main", "benchmarks (engine, tracker, node, memory) as tables"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: edgesam-ros <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "`edgesam-ros <command> --help` describes a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"edgesam-ros: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, function_name = COMMANDS[name][0].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    sys.argv[0] = f"edgesam-ros {name}"
    return int(function(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
