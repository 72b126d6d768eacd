"""`edgesam-ros demo --out out`: the whole pipeline on a procedural camera bag, in a few minutes.

1. renders the "demo" sequence into an MCAP camera bag with box prompts and ground truth;
2. live path, as users run it: `edgesam-ros play` in one process replays it over DDS
   (sensor-data QoS) into the segment node in another, with the shipped DDS profile on both
   sides, and this process records what the node publishes and what it says it received, lost
   before it and dropped (frames the node is too slow for are dropped by design);
3. offline path: `segment-bag` on every frame, with an overlay MP4;
4. leaves under OUT: the input bag, the segmented bag, the MP4, a contact sheet PNG (prediction
   above ground truth for a few frames), a small COCO dataset exported from the segmented bag
   (`edgesam-ros dataset`, every DATASET_EVERY-th frame) and `summary.md`; prints the summary.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from edgesam_ros.bags.errors import BagError, run_cli
from edgesam_ros.bags.evaluate import Score, score
from edgesam_ros.bags.fixtures import IMAGE_TOPIC, FixtureOptions, make_bag
from edgesam_ros.bags.groundtruth import GroundTruth
from edgesam_ros.bags.live import run_live
from edgesam_ros.bags.offline import SegmentOptions, segment
from edgesam_ros.bags.segment_bag import load_engine
from edgesam_ros.bags.storage import open_bag, read_messages, topic_connections
from edgesam_ros.bags.typestore import typestore
from edgesam_ros.datasets.export import ExportOptions, ExportSummary, export
from edgesam_ros.datasets.selection import Selection
from edgesam_ros.engine.bundled import bundled_model_paths
from edgesam_ros.engine.errors import ModelError
from edgesam_ros.ros import dds_profile
from edgesam_ros.ros.messages import stamp_ns
from edgesam_ros.tracking.metrics import jaccard
from edgesam_ros.visualization import draw_instances

SHEET_FRAMES = 6
SHEET_TILE = (320, 240)  # width, height of one tile
DATASET_EVERY = 5  # the demo's COCO export takes every 5th frame with objects (kept small)


def _model(encoder: Path | None, decoder: Path | None) -> tuple[Path, Path]:
    if encoder and decoder:
        return encoder, decoder
    if encoder or decoder:
        raise BagError("give both --encoder and --decoder, or neither (bundled model)")
    try:
        return bundled_model_paths()
    except ModelError as error:
        raise BagError(f"no model to run: {error}") from None


def _images(bag: Path, stamps: set[int]) -> dict[int, np.ndarray]:
    """RGB frames of the bag's camera topic with the given header stamps."""
    frames = {}
    with open_bag(bag) as reader:
        connections = topic_connections(reader, IMAGE_TOPIC, ("sensor_msgs/msg/Image",))
        for connection, _, raw in read_messages(reader, connections):
            msg = typestore().deserialize_cdr(raw, connection.msgtype)
            stamp = stamp_ns(msg.header)
            if stamp in stamps:
                frames[stamp] = msg.data.reshape(msg.height, msg.width, 3)
    return frames


def _tile(image: np.ndarray, ids: np.ndarray, text: str) -> np.ndarray:
    tile = cv2.resize(draw_instances(image, ids), SHEET_TILE, interpolation=cv2.INTER_AREA)
    cv2.putText(tile, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                cv2.LINE_AA)
    return tile


def frame_j(truth: GroundTruth, t: int, predicted: np.ndarray) -> float | None:
    """Mean J on frame `t` over the objects prompted by then that the ground truth or the
    prediction shows; None when there is none (nothing to judge on this frame)."""
    gt = truth.id_images[t]
    shown = set(np.unique(gt).tolist()) | set(np.unique(predicted).tolist())
    judged = [int(o["id"]) for o in truth.info["objects"]
              if o["prompt_frame"] is not None and o["prompt_frame"] <= t and o["id"] in shown]
    if not judged:
        return None
    return float(np.mean([jaccard(predicted == i, gt == i) for i in judged]))


def contact_sheet(
    bag: Path, truth: GroundTruth, predictions: dict[int, np.ndarray], path: Path
) -> None:
    """PNG: one column per chosen frame, the prediction (with its J) above the ground truth."""
    chosen = np.linspace(0, len(truth.stamps_ns) - 1, SHEET_FRAMES).round().astype(int)
    stamps = [int(truth.stamps_ns[t]) for t in chosen]
    images = _images(bag, set(stamps))
    columns = []
    for t, stamp in zip(chosen, stamps, strict=True):
        predicted = predictions.get(stamp)
        if predicted is None:
            predicted, label = np.zeros_like(truth.id_images[t]), "no result"
        else:
            j = frame_j(truth, t, predicted)
            label = "EdgeSAM" if j is None else f"EdgeSAM, J {j:.2f}"
        columns.append(np.vstack([
            _tile(images[stamp], predicted, f"frame {t}: {label}"),
            _tile(images[stamp], truth.id_images[t], f"frame {t}: ground truth"),
        ]))
    cv2.imwrite(str(path), cv2.cvtColor(np.hstack(columns), cv2.COLOR_RGB2BGR))


def export_dataset(segmented: Path, out: Path) -> ExportSummary:
    """The demo's COCO dataset of the segmented bag (`edgesam-ros dataset --every N`,
    N = DATASET_EVERY)."""
    options = ExportOptions(format="coco", selection=Selection(every=DATASET_EVERY),
                            overwrite=True, progress=False)
    return export(segmented, out, options)


def _line(name: str, frames: str, fps: float, result: Score) -> str:
    return f"| {name} | {frames} | {fps:.1f} | {result.jf:.3f} | {result.j:.3f} | {result.f:.3f} |"


def run_demo(out: Path, model: tuple[Path, Path], rate: float, seed: int) -> str:
    """Run the demo into `out` (replacing earlier demo outputs) and return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    source = out / "demo_camera"
    truth = make_bag(source, FixtureOptions(preset="demo", seed=seed, storage="mcap",
                                            prompts=True), overwrite=True)
    frames = len(truth.stamps_ns)
    print(f"[demo] camera bag: {source} ({frames} frames), live path next", flush=True)

    live = run_live(source, IMAGE_TOPIC, model, rate)
    live_score = score(truth, live.id_images)
    delivery = (f"node process received {live.count('frames received')}/"
                f"{live.images_published} frames, lost before it "
                f"{live.count('frames lost before node')}, dropped by it "
                f"{live.count('frames dropped')}")
    print(f"[demo] live: {live.processed}/{live.images_published} frames processed "
          f"({delivery})", flush=True)

    engine = load_engine(*model)
    options = SegmentOptions(mp4=out / "demo_overlay.mp4", overwrite=True)
    offline = segment(engine, source, out / "demo_segmented", options)
    offline_score = score(truth, offline.id_images)
    contact_sheet(source, truth, offline.id_images, out / "demo_contact_sheet.png")
    dataset = export_dataset(out / "demo_segmented", out / "demo_dataset")

    summary = "\n".join([
        f"# edgesam_ros demo ({frames} frames, {truth.id_images.shape[2]}x"
        f"{truth.id_images.shape[1]}, model {model[0].name})",
        "",
        "| path | frames | fps | J&F | J | F |",
        "|---|---|---|---|---|---|",
        _line(f"live (`play` at {rate:g}x -> node process over DDS, drops by design)",
              f"{live.processed}/{live.images_published}", live.fps, live_score),
        _line("offline (segment-bag, every frame)", f"{offline.frames}/{offline.total_frames}",
              offline.fps, offline_score),
        "",
        f"live delivery: {delivery}",
        f"live latency (image received -> result published): {live.mean_total_ms:.0f} ms mean",
        f"outputs in {out}: demo_camera/ (input bag + ground truth), demo_segmented/ "
        "(segmented bag), demo_overlay.mp4, demo_contact_sheet.png",
        f"COCO dataset of the segmented bag (every {DATASET_EVERY}th frame): "
        f"{out / 'demo_dataset'}/annotations/instances_{{train,val}}.json; "
        + dataset.annotation_line(),
        f"demo time: {time.monotonic() - began:.0f} s",
    ])
    (out / "summary.md").write_text(summary + "\n")
    return summary


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("out"), help="output directory (default out)")
    p.add_argument("--rate", type=float, default=1.0, help="live replay speed factor")
    p.add_argument("--seed", type=int, default=0, help="demo sequence seed")
    p.add_argument("--encoder", type=Path, help="encoder ONNX (default: the bundled model)")
    p.add_argument("--decoder", type=Path, help="decoder ONNX (default: the bundled model)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> int:
        dds_profile.apply(dds_profile.SHIPPED)  # this process records the node's id images
        summary = run_demo(args.out, _model(args.encoder, args.decoder), args.rate, args.seed)
        print(summary)
        return 0

    return run_cli("demo", body)


if __name__ == "__main__":
    sys.exit(main())
