"""Mask-image export read back with OpenCV: 16-bit instance ids and the class map."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic import PERIOD_NS, START_NS, kept

from edgesam_ros.bags.errors import BagError
from edgesam_ros.datasets.export import ExportSummary
from edgesam_ros.datasets.layout import DatasetInfo
from edgesam_ros.datasets.masks import MaskWriter


@pytest.fixture(scope="module")
def out(exported: dict[str, ExportSummary]) -> Path:
    return exported["masks"].out


def test_class_list_starts_with_background(out: Path) -> None:
    assert (out / "classes.txt").read_text().splitlines() == [
        "background", "mug", "object", "bottle"]


@pytest.mark.parametrize("split", ["train", "val"])
def test_instance_and_class_pngs_hold_track_ids_and_classes(out: Path, split: str) -> None:
    classes = (out / "classes.txt").read_text().splitlines()
    names = sorted(p.name for p in (out / split / "images").iterdir())
    assert names and names == sorted(p.name for p in (out / split / "instances").iterdir())
    for name in names:
        t = (int(Path(name).stem) - START_NS) // PERIOD_NS
        instances = cv2.imread(str(out / split / "instances" / name), cv2.IMREAD_UNCHANGED)
        class_map = cv2.imread(str(out / split / "classes" / name), cv2.IMREAD_UNCHANGED)
        assert instances.dtype == np.uint16 and class_map.dtype == np.uint8
        expected_ids = np.zeros(instances.shape, np.uint16)
        expected_classes = np.zeros(instances.shape, np.uint8)
        for obj in kept(t):
            expected_ids[obj.mask] = obj.id
            expected_classes[obj.mask] = classes.index(obj.label or "object")
        np.testing.assert_array_equal(instances, expected_ids)
        np.testing.assert_array_equal(class_map, expected_classes)


def test_track_ids_beyond_16_bits_are_refused(tmp_path: Path) -> None:
    info = DatasetInfo(tmp_path, tmp_path, ("a",), ("train",), "bag", max_track_id=70000)
    with pytest.raises(BagError, match="track id 70000 does not fit a 16-bit instance image"):
        MaskWriter(info)
