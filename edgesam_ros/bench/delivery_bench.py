"""Camera frames across processes: how many reach the segment node, per size, rate and DDS profile.

    edgesam-ros bench delivery [--seconds 10] [--sizes 640x480,1280x720] [--rates 10,30]
                               [--profiles large_images,none] [--encoder E --decoder D]

For each case a procedural rgb8 camera bag is played by `edgesam-ros play` in one process into
the installed segment node in another (`bags.live.run_live`, what the demo runs), both started
with the DDS profile of the row (`large_images`: the shipped config/fastdds_large_images.xml;
`none`: Fast DDS defaults). The table gives, per case: frames published, received by the node,
processed, lost before the node (estimated by the node from stamp gaps), dropped by the node
(it was busy: newest frame wins), the processed share and the node's mean latency. A node slower
than the camera drops frames by design; frames lost before it are the transport's doing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from edgesam_ros.bags.errors import BagError
from edgesam_ros.bags.fixtures import IMAGE_TOPIC, FixtureOptions, make_bag
from edgesam_ros.bags.live import LiveRun, run_live
from edgesam_ros.ros import dds_profile

PROFILE_NAMES = {"large_images": dds_profile.SHIPPED, "none": ""}
HEADER = ("| profile | size | rate (Hz) | published | received | processed | lost before node "
          "| dropped by node | processed share | latency (ms) |\n|---|---|---|---|---|---|---|---|"
          "---|---|")


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def row(profile: str, size: tuple[int, int], rate: float, run: LiveRun) -> str:
    """One table line for a finished run."""
    share = run.processed / run.images_published if run.images_published else 0.0
    return (f"| {profile} | {size[0]}x{size[1]} | {rate:g} | {run.images_published} | "
            f"{run.count('frames received')} | {run.processed} | "
            f"{run.count('frames lost before node')} | {run.count('frames dropped')} | "
            f"{share:.0%} | {run.mean_total_ms:.0f} |")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros bench delivery",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="bag length per case")
    p.add_argument("--sizes", default="640x480,1280x720", help="WIDTHxHEIGHT list")
    p.add_argument("--rates", default="10,30", help="camera rates (Hz)")
    p.add_argument("--profiles", default="large_images,none",
                   help=f"DDS profiles to compare ({', '.join(PROFILE_NAMES)})")
    p.add_argument("--encoder", type=Path, help="encoder ONNX (default: the bundled model)")
    p.add_argument("--decoder", type=Path, help="decoder ONNX (default: the bundled model)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    profiles = args.profiles.split(",")
    unknown = sorted(set(profiles) - set(PROFILE_NAMES))
    if unknown:
        print(f"bench delivery: unknown profile {unknown[0]} (known: {', '.join(PROFILE_NAMES)})")
        return 2
    model = (args.encoder, args.decoder) if args.encoder and args.decoder else None
    parameters = {"engine.intra_op_threads": args.threads}
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="edgesam_delivery_") as work:
        for size in map(_size, args.sizes.split(",")):
            for rate in map(float, args.rates.split(",")):
                bag = Path(work) / f"{size[0]}x{size[1]}_{rate:g}"
                make_bag(bag, FixtureOptions(preset="demo", frames=round(args.seconds * rate),
                                             size=size, fps=rate, storage="mcap"))
                for profile in profiles:
                    try:
                        run = run_live(bag, IMAGE_TOPIC, model, settle_s=1.5,
                                       namespace=f"/delivery_bench_{os.getpid()}",
                                       profile=PROFILE_NAMES[profile], record_masks=False,
                                       parameters=parameters)
                    except BagError as error:
                        print(f"| {profile} | {size[0]}x{size[1]} | {rate:g} | failed: {error} |")
                        continue
                    print(row(profile, size, rate, run), flush=True)
                shutil.rmtree(bag)  # 10 s of 1280x720 at 30 Hz is 800 MB
    return 0
