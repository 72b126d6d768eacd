"""`edgesam-ros dataset`: bad input (exit 2, one line), empty results, live recordings."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv
from pycocotools.coco import COCO
from synthetic import (
    COMPRESSED_TOPIC,
    FRAMES,
    PERIOD_NS,
    START_NS,
    BagSpec,
    kept,
    scene,
    write_bag,
)

from edgesam_ros.datasets import cli, reader
from edgesam_ros.datasets.coco import annotation_path


def run(capsys: pytest.CaptureFixture, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_camera_bag_without_results_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bag = write_bag(tmp_path / "camera", BagSpec(results=False))
    code, out, err = run(capsys, bag, tmp_path / "out", "--no-progress")
    assert (code, out) == (2, "")
    assert err == (f"dataset: error: {bag} has no edgesam_ros/msg/SegmentationArray topic: "
                   "segment it first (edgesam-ros segment-bag IN OUT)\n")
    assert not (tmp_path / "out").exists()


def test_a_malformed_result_message_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from edgesam_ros.bags.storage import RELIABLE_QOS, SENSOR_QOS, BagWriter

    bag = tmp_path / "broken"
    with BagWriter(bag, "mcap") as writer:
        writer.add_topic("/camera/image_raw", "sensor_msgs/msg/Image", SENSOR_QOS)
        writer.add_topic("/edgesam/segmentation", "edgesam_ros/msg/SegmentationArray",
                         RELIABLE_QOS)
        writer.write_raw("/edgesam/segmentation", 7, b"\x00\x01\x00\x00" + b"\xff" * 40)
    code, out, err = run(capsys, bag, tmp_path / "out", "--no-progress")
    assert (code, out) == (2, "")
    assert err.startswith(f"dataset: error: {bag}: the message at 7 ns on /edgesam/segmentation "
                          "is not a valid edgesam_ros/msg/SegmentationArray (failed to "
                          "deserialize ROS message")
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_an_existing_output_is_refused_unless_overwrite(
    segmented_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "out").mkdir()
    code, _, err = run(capsys, segmented_bag, tmp_path / "out", "--no-progress")
    assert (code, err) == (2, f"dataset: error: {tmp_path / 'out'} exists; pass --overwrite "
                              "to replace it\n")
    code, _, _ = run(capsys, segmented_bag, tmp_path / "out", "--no-progress", "--overwrite")
    assert code == 0 and annotation_path(tmp_path / "out", "train").is_file()


def test_a_missing_image_topic_lists_the_image_topics(
    segmented_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code, _, err = run(capsys, segmented_bag, tmp_path / "out", "--image-topic", "/rgb")
    assert (code, err) == (2, f"dataset: error: image topic /rgb is not in {segmented_bag} "
                              "(image topics: /camera/image_raw); choose one with --image-topic\n")


def test_an_output_inside_the_bag_is_refused(
    segmented_bag: Path, capsys: pytest.CaptureFixture
) -> None:
    code, _, err = run(capsys, segmented_bag, segmented_bag / "dataset")
    assert (code, err) == (2, f"dataset: error: {segmented_bag / 'dataset'} is inside the input "
                              "bag: write the dataset elsewhere\n")


@pytest.mark.parametrize("fmt", ["coco", "yolo"])
def test_results_without_objects_give_an_empty_valid_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str
) -> None:
    bag = write_bag(tmp_path / "nothing", BagSpec(objects=False))
    out = tmp_path / "out"
    code, printed, _ = run(capsys, bag, out, "--format", fmt, "--no-progress")
    assert code == 0
    assert printed.splitlines()[1] == (
        "annotations: 0 (no result holds an object in state new or tracked: nothing was "
        "prompted, or every object was lost)")
    if fmt == "coco":
        coco = COCO(str(annotation_path(out, "train")))
        assert (coco.getImgIds(), coco.getAnnIds(), coco.getCatIds()) == ([], [], [])
        dataset = sv.DetectionDataset.from_coco(str(out / "train"),
                                                str(annotation_path(out, "train")))
    else:
        dataset = sv.DetectionDataset.from_yolo(str(out / "images/train"),
                                                str(out / "labels/train"), str(out / "data.yaml"))
    assert (len(dataset), dataset.classes) == (0, [])


@pytest.mark.parametrize(
    "spec",
    [BagSpec(result_delay_ns=150_000_000, dropped=frozenset({4, 7})),
     BagSpec(result_delay_ns=-50_000_000)],
    ids=["results-after-images-some-dropped", "results-before-images"],
)
def test_results_are_matched_to_their_images_by_stamp(
    tmp_path: Path, capsys: pytest.CaptureFixture, spec: BagSpec
) -> None:
    bag = write_bag(tmp_path / "live", spec)
    out = tmp_path / "out"
    code, _, _ = run(capsys, bag, out, "--val-fraction", "0", "--no-progress")
    assert code == 0
    coco = COCO(str(annotation_path(out, "train")))
    images = coco.loadImgs(coco.getImgIds())
    frames = sorted((i["stamp_ns"] - START_NS) // PERIOD_NS for i in images)
    assert frames == sorted(set(range(1, FRAMES)) - spec.dropped)
    for image in images:
        t = (image["stamp_ns"] - START_NS) // PERIOD_NS
        truth = {o.id: o.mask for o in kept(t)}
        for annotation in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            assert (coco.annToMask(annotation) == truth[annotation["track_id"]]).all()


def test_compressed_images_give_the_same_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bag = write_bag(tmp_path / "compressed", BagSpec(compressed=True))
    out = tmp_path / "out"
    code, _, _ = run(capsys, bag, out, "--format", "masks", "--image-topic", COMPRESSED_TOPIC,
                     "--val-fraction", "0", "--no-progress")
    assert code == 0
    written = sorted((out / "train" / "images").iterdir())
    assert len(written) == FRAMES - 1
    for path in written:
        t = (int(path.stem) - START_NS) // PERIOD_NS
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(rgb, scene(t).rgb)  # png: lossless


def test_results_too_far_from_their_images_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_PENDING", 2)
    bag = write_bag(tmp_path / "late", BagSpec(result_delay_ns=500_000_000))
    code, printed, _ = run(capsys, bag, tmp_path / "out", "--val-fraction", "0", "--no-progress")
    assert code == 0
    # Results come 5 frames after their images: only the last two images are still held when
    # their results arrive (after the last image, nothing pushes them out).
    assert printed.splitlines()[0].endswith("11 frames chosen, 2 written (train 2) -> "
                                            f"{tmp_path / 'out'} (coco)")
    assert printed.splitlines()[-1] == (
        "frames left out: 9 result without its image (missing, or more than 2 frames apart "
        "in the bag)")


def test_progress_bar_goes_to_stderr(
    segmented_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code, printed, err = run(capsys, segmented_bag, tmp_path / "out", "--format", "masks")
    assert code == 0 and "11/11" in err
    assert printed.splitlines()[1] == "annotations: 25 (mug 11, object 11, bottle 3)"
