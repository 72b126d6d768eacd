"""rosbag2 workflows without ROS middleware: fixtures, replay, offline segmentation.

Everything here reads and writes bags with `rosbags` (pure Python, no rosbag2 install), so
bags can be made and segmented on any machine; only `replay` needs rclpy, to publish.
Bags are written as rosbag2 metadata version 8, which `ros2 bag info/play` read on Humble
through Kilted and Foxglove opens (see `storage`).
"""
