"""Fixtures of the dataset tests: synthetic segmented bags and one export per format."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="the dataset reader uses rclpy serialisation")

from synthetic import write_bag

from edgesam_ros.datasets.export import ExportOptions, ExportSummary, export


@pytest.fixture(scope="session")
def segmented_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bag(tmp_path_factory.mktemp("synthetic") / "segmented")


@pytest.fixture(scope="session")
def exported(
    segmented_bag: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ExportSummary]:
    """The synthetic bag exported once in each format, with the default selection."""
    root = tmp_path_factory.mktemp("datasets")
    return {
        name: export(segmented_bag, root / name, ExportOptions(format=name, progress=False))
        for name in ("coco", "yolo", "masks")
    }
