"""YOLO segmentation export read back by supervision's YOLO loader; how polygons hold holes and
parts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv
import yaml
from synthetic import FRAMES, PERIOD_NS, START_NS, kept, ring, two_parts

from edgesam_ros.datasets import yolo
from edgesam_ros.datasets.export import ExportSummary


@pytest.fixture(scope="module")
def out(exported: dict[str, ExportSummary]) -> Path:
    return exported["yolo"].out


def load(out: Path, split: str) -> sv.DetectionDataset:
    return sv.DetectionDataset.from_yolo(
        images_directory_path=str(out / "images" / split),
        annotations_directory_path=str(out / "labels" / split),
        data_yaml_path=str(out / "data.yaml"), force_masks=True,
    )


def test_data_yaml_names_the_splits_and_classes(out: Path) -> None:
    assert yaml.safe_load((out / "data.yaml").read_text()) == {
        "path": str(out.resolve()), "train": "images/train", "val": "images/val",
        "names": {0: "mug", 1: "object", 2: "bottle"},
    }


@pytest.mark.parametrize("split", ["train", "val"])
def test_supervision_reads_every_object_with_its_class_and_mask(out: Path, split: str) -> None:
    dataset = load(out, split)
    assert dataset.classes == ["mug", "object", "bottle"]
    assert len(dataset) == {"train": 8, "val": 3}[split]
    for path, _, detections in dataset:
        t = (int(Path(path).stem) - START_NS) // PERIOD_NS
        truth = {o.label or "object": o.mask for o in kept(t)}
        read = {dataset.classes[c]: m for c, m in
                zip(detections.class_id, detections.mask, strict=True)}
        assert sorted(read) == sorted(truth)
        np.testing.assert_array_equal(read["mug"], ring(t)[1])  # the hole is filled
        if "bottle" in truth:
            np.testing.assert_array_equal(read["bottle"], truth["bottle"])
        left, right = two_parts()
        bridge = read["object"] & ~(left | right)
        assert (read["object"] >= (left | right)).all()  # both parts, whole
        # The bridge is a one-pixel line between the facing sides (columns 18-29).
        assert 0 < bridge.sum() <= 13
        columns = np.nonzero(bridge)[1]
        assert columns.min() >= 18 and columns.max() <= 29


def test_join_parts_walks_every_part_and_comes_back_to_the_start() -> None:
    masks = [np.zeros((40, 60), np.uint8) for _ in range(3)]
    for mask, x in zip(masks, (2, 25, 45), strict=True):
        mask[5:15, x:x + 8] = 1
    parts = [yolo.outer_contours(m.astype(bool))[0] for m in masks]
    outline = yolo.join_parts(parts)
    np.testing.assert_array_equal(outline[0], outline[-1])
    filled = np.zeros((40, 60), np.uint8)
    cv2.fillPoly(filled, [outline.astype(np.int32)], 1)
    union = np.maximum.reduce(masks)
    assert (filled >= union).all()
    assert (filled & ~union.astype(bool)).sum() <= (25 - 10) + (45 - 33)  # the two bridges


def test_an_empty_mask_has_no_polygon() -> None:
    assert yolo.polygon(np.zeros((4, 4), bool)) is None


def test_every_frame_with_objects_gets_a_label_file(out: Path) -> None:
    written = sorted(p.stem for p in (out / "labels").rglob("*.txt"))
    assert len(written) == FRAMES - 1  # frame 0 has no object
