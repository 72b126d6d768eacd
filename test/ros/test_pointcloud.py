"""Object points from depth: back-projection maths and the PointCloud2 byte layout."""

from __future__ import annotations

import numpy as np
import pytest
from std_msgs.msg import Header

from edgesam_ros.ros import pointcloud

pytestmark = pytest.mark.ros
K = np.array([[100.0, 0, 4], [0, 50.0, 3], [0, 0, 1]])


def scene() -> tuple[np.ndarray, np.ndarray]:
    ids = np.zeros((6, 8), np.uint16)
    ids[1:3, 2:5] = 1
    ids[4, 6] = 300
    depth = np.full((6, 8), 2000, np.uint16)
    depth[1, 2] = 0  # invalid
    depth[2, 4] = 60000  # beyond max_range
    return ids, depth


def test_points_follow_the_pinhole_model_and_skip_invalid_depth():
    ids, depth = scene()
    points = pointcloud.object_points(ids, pointcloud.depth_in_metres(depth, 0.001), K, 10.0)
    assert len(points) == 6 - 2 + 1
    assert set(points["object_id"]) == {1, 300}
    far = points[points["object_id"] == 300][0]
    assert far["z"] == pytest.approx(2.0)
    assert far["x"] == pytest.approx((6 - 4) * 2.0 / 100.0)
    assert far["y"] == pytest.approx((4 - 3) * 2.0 / 50.0)


def test_float_depth_nan_and_inf_are_skipped():
    ids = np.ones((2, 2), np.uint8)
    depth = np.array([[1.0, np.nan], [np.inf, -1.0]], np.float32)
    assert len(pointcloud.object_points(ids, depth, K, 10.0)) == 1


def test_numpy_packer_layout():
    ids, depth = scene()
    points = pointcloud.object_points(ids, pointcloud.depth_in_metres(depth, 0.001), K, 10.0)
    cloud = pointcloud.pack_numpy(Header(frame_id="cam"), points)
    assert (cloud.height, cloud.width, cloud.point_step) == (1, len(points), 16)
    assert cloud.row_step == 16 * len(points) and len(cloud.data) == cloud.row_step
    back = np.frombuffer(bytes(cloud.data), pointcloud.POINT_DTYPE)
    np.testing.assert_array_equal(back, points)


def test_numpy_packer_gives_the_bytes_of_sensor_msgs_py():
    point_cloud2 = pytest.importorskip("sensor_msgs_py.point_cloud2",
                                       reason="sensor_msgs_py is not installed")
    ids, depth = scene()
    points = pointcloud.object_points(ids, pointcloud.depth_in_metres(depth, 0.001), K, 10.0)
    header = Header(frame_id="cam")
    ours = pointcloud.pack_numpy(header, points)
    theirs = point_cloud2.create_cloud(header, pointcloud.FIELDS, points)
    assert bytes(ours.data) == bytes(theirs.data)
    assert (ours.point_step, ours.row_step, ours.is_dense) == (
        theirs.point_step, theirs.row_step, theirs.is_dense)
