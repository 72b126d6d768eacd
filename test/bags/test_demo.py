"""The demo's contact sheet (the whole demo is `make demo`, too slow for the suite)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv
from pycocotools.coco import COCO

pytest.importorskip("rclpy", reason="the demo runs the node")

from edgesam_ros import demo
from edgesam_ros.bags.groundtruth import GroundTruth
from edgesam_ros.bags.offline import SegmentOptions, segment
from edgesam_ros.datasets.coco import annotation_path
from edgesam_ros.engine import SamEngine


def test_contact_sheet_shows_predictions_above_ground_truth(
    bags: dict[str, Path], tmp_path: Path
) -> None:
    truth = GroundTruth.load(bags["sqlite3"])
    perfect = {int(s): truth.id_images[t] for t, s in enumerate(truth.stamps_ns)}
    empty = {s: np.zeros_like(p) for s, p in perfect.items()}
    sheets = []
    for name, predictions in [("perfect", perfect), ("empty", empty)]:
        demo.contact_sheet(bags["sqlite3"], truth, predictions, tmp_path / f"{name}.png")
        sheets.append(cv2.imread(str(tmp_path / f"{name}.png")))
    width, height = demo.SHEET_TILE
    assert sheets[0].shape == (2 * height, demo.SHEET_FRAMES * width, 3)
    top, bottom = sheets[0][:height], sheets[0][height:]
    text = slice(0, 24)  # the labels differ; the tiles below them must not
    np.testing.assert_array_equal(top[text.stop:], bottom[text.stop:])
    assert not np.array_equal(sheets[1][height + 24:], sheets[1][24:height])


def test_frame_j_counts_only_the_objects_prompted_so_far_and_shown() -> None:
    ids = np.zeros((2, 4, 4), np.uint16)
    ids[:, :2, :2], ids[:, 2:, 2:] = 1, 2
    objects = [{"id": 1, "prompt_frame": 0}, {"id": 2, "prompt_frame": 1},
               {"id": 3, "prompt_frame": None}]
    truth = GroundTruth(ids, np.array([1, 2], np.int64), {"objects": objects})
    only_one = np.where(ids[0] == 1, 1, 0)
    assert demo.frame_j(truth, 0, only_one) == 1.0
    assert demo.frame_j(truth, 1, only_one) == 0.5
    first_later = [{"id": 1, "prompt_frame": 1}]
    assert demo.frame_j(GroundTruth(ids, truth.stamps_ns, {"objects": first_later}), 0,
                        only_one) is None
    gone = GroundTruth(np.zeros_like(ids), truth.stamps_ns, {"objects": objects})
    assert demo.frame_j(gone, 1, np.zeros((4, 4), np.uint16)) is None  # nothing shown
    assert demo.frame_j(gone, 1, only_one) == 0.0  # a mask where nothing is


def test_demo_dataset_has_the_same_annotations_per_class_in_pycocotools_and_supervision(
    bags: dict[str, Path], engine: SamEngine, tmp_path: Path
) -> None:
    """The demo's export step on a demo-like bag (fixture prompts with shape labels, segmented
    by segment-bag): both readers load every split with the same counts per class."""
    segmented = tmp_path / "segmented"
    segment(engine, bags["sqlite3"], segmented, SegmentOptions(progress=False))
    summary = demo.export_dataset(segmented, tmp_path / "dataset")
    assert sum(summary.annotations.values()) > 0
    for split in ("train", "val"):
        annotations = str(annotation_path(tmp_path / "dataset", split))
        coco = COCO(annotations)
        from_coco = Counter(coco.loadCats(a["category_id"])[0]["name"]
                            for a in coco.loadAnns(coco.getAnnIds()))
        dataset = sv.DetectionDataset.from_coco(str(tmp_path / "dataset" / split), annotations)
        from_supervision = Counter(dataset.classes[c] for _, _, detections in dataset
                                   for c in detections.class_id)
        assert from_supervision == from_coco
        assert len(dataset) == len(coco.getImgIds())
    assert sum(summary.written.values()) == summary.candidates
