"""COCO export read back by pycocotools and supervision (no parsing of our own in the checks)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv
from pycocotools.coco import COCO
from synthetic import FRAMES, PERIOD_NS, START_NS, kept, scene

from edgesam_ros.datasets.coco import annotation_path
from edgesam_ros.datasets.export import ExportSummary

CLASSES = ["mug", "object", "bottle"]  # in order of first appearance
VAL_FRAMES = {5, 10, 11}  # time blocks 4 and 9 of 10 over frames 1-11
PER_CLASS = {"mug": 11, "object": 11, "bottle": 3}


def frame_of(stamp_ns: int) -> int:
    return (stamp_ns - START_NS) // PERIOD_NS


def class_of(label: str) -> str:
    return label or "object"


@pytest.fixture(scope="module")
def out(exported: dict[str, ExportSummary]) -> Path:
    return exported["coco"].out


@pytest.mark.parametrize("split", ["train", "val"])
def test_pycocotools_masks_equal_ours_for_every_annotation(out: Path, split: str) -> None:
    coco = COCO(str(annotation_path(out, split)))
    frames = {frame_of(image["stamp_ns"]) for image in coco.loadImgs(coco.getImgIds())}
    assert frames == (VAL_FRAMES if split == "val" else set(range(1, FRAMES)) - VAL_FRAMES)
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == CLASSES
    for image in coco.loadImgs(coco.getImgIds()):
        t = frame_of(image["stamp_ns"])
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        truth = {o.id: o for o in kept(t)}
        assert sorted(a["track_id"] for a in annotations) == sorted(truth)
        for annotation in annotations:
            obj = truth[annotation["track_id"]]
            np.testing.assert_array_equal(coco.annToMask(annotation).astype(bool), obj.mask)
            assert coco.loadCats(annotation["category_id"])[0]["name"] == class_of(obj.label)
            assert annotation["attributes"] == {"track_id": obj.id}
            assert annotation["iscrowd"] == 0
            assert annotation["area"] == obj.mask.sum()
            ys, xs = np.nonzero(obj.mask)
            assert annotation["bbox"] == [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
        written = cv2.imread(str(out / split / image["file_name"]))
        np.testing.assert_array_equal(cv2.cvtColor(written, cv2.COLOR_BGR2RGB), scene(t).rgb)


def test_the_ring_keeps_its_hole_in_coco(out: Path) -> None:
    coco = COCO(str(annotation_path(out, "train")))
    ring = coco.loadAnns(coco.getAnnIds(catIds=[1]))[0]
    mask = coco.annToMask(ring)
    assert mask.sum() == 18 * 16 - 6 * 5  # the outline minus the hole


def test_supervision_reads_the_same_annotations_as_pycocotools(out: Path) -> None:
    for split in ("train", "val"):
        coco = COCO(str(annotation_path(out, split)))
        dataset = sv.DetectionDataset.from_coco(
            images_directory_path=str(out / split),
            annotations_path=str(annotation_path(out, split)), force_masks=True,
        )
        assert dataset.classes == CLASSES
        assert len(dataset) == len(coco.getImgIds())
        per_class = Counter()
        for path, _, detections in dataset:
            t = frame_of(int(Path(path).stem))
            truth = sorted((class_of(o.label), o.mask.sum()) for o in kept(t))
            read = sorted((dataset.classes[c], int(m.sum()))
                          for c, m in zip(detections.class_id, detections.mask, strict=True))
            assert read == truth
            per_class.update(dataset.classes[c] for c in detections.class_id)
        from_coco = Counter(coco.loadCats(a["category_id"])[0]["name"]
                            for a in coco.loadAnns(coco.getAnnIds()))
        assert per_class == from_coco


def test_summary_counts_frames_annotations_and_what_was_left_out(
    exported: dict[str, ExportSummary], out: Path
) -> None:
    assert exported["coco"].lines() == [
        f"read 12 images and 12 segmentation results; 11 frames chosen, 11 written "
        f"(train 8, val 3) -> {out} (coco)",
        "annotations: 25 (mug 11, object 11, bottle 3)",
        "objects left out: 1 lost, 1 rejected, 1 removed",
    ]
    assert dict(exported["coco"].annotations) == PER_CLASS
