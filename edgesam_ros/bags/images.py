"""numpy images -> rosbags camera messages (Image, CompressedImage, CameraInfo, Header).

What a camera driver would record, built with rosbags' classes so writing fixtures needs no ROS
installation. (Reading images back goes through the node's own conversion, see `segment_bag`.)
"""

from __future__ import annotations

import math
import sys

import cv2
import numpy as np

from .typestore import message_class

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
#: OpenCV encoder extension and ROS `format` string of each compression we write.
COMPRESSIONS = {
    "png": (".png", "rgb8; png compressed bgr8"),
    "jpeg": (".jpg", "rgb8; jpeg compressed bgr8"),
}


def header(stamp_ns: int, frame_id: str) -> object:
    """std_msgs/Header at `stamp_ns` nanoseconds."""
    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    time = message_class("builtin_interfaces/msg/Time")(sec=sec, nanosec=nanosec)
    return message_class("std_msgs/msg/Header")(stamp=time, frame_id=frame_id)


def image_message(pixels: np.ndarray, encoding: str, msg_header: object) -> object:
    """sensor_msgs/Image holding `pixels` (no row padding, host byte order)."""
    contiguous = np.ascontiguousarray(pixels)
    return message_class(IMAGE)(
        header=msg_header,
        height=contiguous.shape[0],
        width=contiguous.shape[1],
        encoding=encoding,
        is_bigendian=int(sys.byteorder == "big"),
        step=contiguous.strides[0],
        data=contiguous.reshape(-1).view(np.uint8),
    )


def compressed_message(rgb: np.ndarray, compression: str, msg_header: object) -> object:
    """sensor_msgs/CompressedImage of an RGB image (png or jpeg, as image_transport writes)."""
    extension, image_format = COMPRESSIONS[compression]
    ok, data = cv2.imencode(extension, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok, f"OpenCV could not encode {extension}"
    return message_class(COMPRESSED)(header=msg_header, format=image_format, data=data.reshape(-1))


def camera_info_message(
    height: int, width: int, msg_header: object, horizontal_fov_deg: float
) -> object:
    """An undistorted pinhole CameraInfo with square pixels and the centre as principal point."""
    focal = width / (2 * math.tan(math.radians(horizontal_fov_deg) / 2))
    cx, cy = (width - 1) / 2, (height - 1) / 2
    k = np.array([focal, 0, cx, 0, focal, cy, 0, 0, 1], np.float64)
    roi = message_class("sensor_msgs/msg/RegionOfInterest")(
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    return message_class(CAMERA_INFO)(
        header=msg_header,
        height=height,
        width=width,
        distortion_model="plumb_bob",
        d=np.zeros(5, np.float64),
        k=k,
        r=np.eye(3).reshape(-1),
        p=np.array([focal, 0, cx, 0, 0, focal, cy, 0, 0, 0, 1, 0], np.float64),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )
