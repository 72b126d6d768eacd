"""Object masks + aligned depth -> a PointCloud2 of every object's points (x, y, z, object_id).

Back-projection follows depth_image_proc (integer pixel indices, pinhole K of the colour camera,
which an aligned depth image shares). The cloud is packed by sensor_msgs_py when it is importable
and by an equivalent vectorised numpy packer otherwise; both give the same bytes.
"""

from __future__ import annotations

import sys

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

from .convert import byte_array

try:
    from sensor_msgs_py import point_cloud2
except ImportError:  # optional: `pack_numpy` below writes the same layout
    point_cloud2 = None

FIELDS = [
    PointField(name="x", offset=0, datatype=PointField.FLOAT32, count=1),
    PointField(name="y", offset=4, datatype=PointField.FLOAT32, count=1),
    PointField(name="z", offset=8, datatype=PointField.FLOAT32, count=1),
    PointField(name="object_id", offset=12, datatype=PointField.UINT32, count=1),
]
POINT_DTYPE = np.dtype(
    {"names": ["x", "y", "z", "object_id"], "formats": ["<f4", "<f4", "<f4", "<u4"],
     "offsets": [0, 4, 8, 12], "itemsize": 16}
)


def depth_in_metres(depth: np.ndarray, scale: float) -> np.ndarray:
    """float32 metres from a 16UC1 (times `scale`) or 32FC1 (already metres) depth image."""
    if depth.dtype == np.uint16:
        return depth.astype(np.float32) * np.float32(scale)
    return depth.astype(np.float32, copy=False)


def object_points(
    id_image: np.ndarray, depth_m: np.ndarray, k: np.ndarray, max_range: float
) -> np.ndarray:
    """Structured (N,) array of every object pixel with a valid depth, in the camera frame.

    `k` is the 3x3 intrinsic matrix. Zero, negative, non-finite and farther-than-`max_range`
    depths are skipped.
    """
    valid = (id_image > 0) & np.isfinite(depth_m) & (depth_m > 0) & (depth_m <= max_range)
    v, u = np.nonzero(valid)
    z = depth_m[v, u]
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    points = np.empty(len(z), POINT_DTYPE)
    points["x"] = (u - cx) * z / fx
    points["y"] = (v - cy) * z / fy
    points["z"] = z
    points["object_id"] = id_image[v, u]
    return points


def pack_numpy(header: object, points: np.ndarray) -> PointCloud2:
    """An unorganised PointCloud2 of `points` (POINT_DTYPE), little-endian, no padding."""
    cloud = PointCloud2()
    cloud.header = header
    cloud.height, cloud.width = 1, len(points)
    cloud.fields = FIELDS
    cloud.is_bigendian = False
    cloud.point_step = POINT_DTYPE.itemsize
    cloud.row_step = cloud.point_step * len(points)
    cloud.is_dense = False  # as sensor_msgs_py writes it
    cloud.data = byte_array(points)
    return cloud


def pack(header: object, points: np.ndarray) -> PointCloud2:
    """PointCloud2 via sensor_msgs_py when installed, `pack_numpy` otherwise."""
    if point_cloud2 is None or sys.byteorder != "little":
        return pack_numpy(header, points)
    return point_cloud2.create_cloud(header, FIELDS, points)
