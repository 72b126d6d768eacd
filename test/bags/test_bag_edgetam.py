"""`segment-bag --edgetam`: the memory tracker through the bag path, and its option checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from bag_helpers import FRAMES
from rosbags.rosbag2 import Reader

pytest.importorskip("rclpy", reason="segment-bag uses rclpy serialisation and the node messages")
pytestmark = pytest.mark.torch

from edgesam_ros.bags import segment_bag  # noqa: E402


def test_segment_bag_tracks_with_edgetam(bags: dict[str, Path], edgetam_micro: Path,
                                         tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert segment_bag.main([str(bags["sqlite3"]), str(out), "--edgetam", str(edgetam_micro),
                             "--no-progress"]) == 0
    assert f"segmented {FRAMES}/{FRAMES} frames" in capsys.readouterr().out
    with Reader(out) as result:
        assert result.topics["/edgesam/segmentation"].msgcount == FRAMES
        assert result.topics["/edgesam/mask"].msgcount == FRAMES


def test_edgetam_refuses_edgesam_options(bags: dict[str, Path], edgetam_micro: Path,
                                         tmp_path: Path, capsys) -> None:
    code = segment_bag.main([str(bags["sqlite3"]), str(tmp_path / "out"), "--edgetam",
                             str(edgetam_micro), "--auto", "--no-progress"])
    assert code != 0
    assert "--edgetam replaces the EdgeSAM model and has no proposals" in capsys.readouterr().err
