"""A bag's CDR bytes -> rclpy messages, for `segment-bag` and `dataset` alike.

One bad message must end a tool the way every other bad input does (exit 2, one line naming the
topic and the time), not with rclpy's RMWError traceback.
"""

from __future__ import annotations

from rclpy.impl.implementation_singleton import rclpy_implementation
from rclpy.serialization import deserialize_message
from rosbags.interfaces import Connection
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import CompressedImage, Image

from .errors import BagError
from .images import COMPRESSED, IMAGE

IMAGE_CLASSES = {IMAGE: Image, COMPRESSED: CompressedImage}
SEGMENTATION = "edgesam_ros/msg/SegmentationArray"


def decode(reader: Reader, connection: Connection, timestamp: int, data: bytes,
           msg_class: type) -> object:
    """The message in `data`; BagError naming topic and time when its CDR bytes are malformed."""
    try:
        return deserialize_message(bytes(data), msg_class)
    except rclpy_implementation.RMWError as error:
        raise BagError(f"{reader.path}: the message at {timestamp} ns on {connection.topic} is not "
                       f"a valid {connection.msgtype} ({error})") from None
