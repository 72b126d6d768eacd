"""Launch the EdgeSAM segment node (and optionally RViz).

    ros2 launch edgesam_ros segment.launch.py image:=/camera/color/image_raw
    ros2 launch edgesam_ros segment.launch.py image:=/cam/image mode:=auto rviz:=true
    ros2 launch edgesam_ros segment.launch.py autostart:=false   # for a lifecycle manager

Every argument is a node parameter (`PARAMETER_ARGS`), a topic remapping (`REMAP_ARGS`) or one of
the launch-level arguments params_file, namespace, rviz and dds_profile; test/ros/test_launch.py
checks this file against the parameters the node declares. Parameter arguments left empty keep
the value of the params file (or the node's default), so the file stays the one place for
settings. The decisions that need no launch_ros (RViz topics, whether rviz2 exists, the DDS
profile's environment) live in `edgesam_ros.ros.launch_support`.
"""

from pathlib import Path

import yaml
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.substitutions import FindPackageShare

from edgesam_ros.ros import launch_support
from launch import LaunchDescription

#: launch argument -> node parameter (empty = keep the params file's value)
PARAMETER_ARGS = {
    "encoder": "model.encoder",
    "decoder": "model.decoder",
    "mode": "mode",
    "providers": "engine.providers",
    "image_transport": "image.transport",
    "image_reliability": "image.reliability",
    "use_depth": "depth.enabled",
    "autostart": "autostart",
}
#: launch argument -> the node's relative topic name it remaps
REMAP_ARGS = {"image": "image", "camera_info": "camera_info", "depth": "depth"}
#: launch argument -> (default, description)
DEFAULTS = {
    "image": ("/camera/color/image_raw", "camera image topic (sensor_msgs/Image)"),
    "camera_info": ("/camera/color/camera_info", "CameraInfo of the image (with use_depth)"),
    "depth": ("/camera/aligned_depth_to_color/image_raw", "depth aligned to the image"),
    "params_file": ("", "parameter file (default: the package's config/segment.yaml)"),
    "namespace": ("", "namespace of the node"),
    "rviz": ("false", "start rviz2 showing the input and the overlay (when rviz2 is installed)"),
    "dds_profile": ("large_images", "Fast DDS profile of the node process: large_images (the "
                    "package's config/fastdds_large_images.xml), a file, or empty for none; the "
                    "camera driver needs the same (docs/node.md)"),
}


def _parameter_value(text: str) -> object:
    """A launch argument's text as the parameter type YAML gives it ("true" -> True, "3" -> 3)."""
    value = yaml.safe_load(text)
    return text if value is None else value


def _launch_setup(context: object) -> list:
    share = Path(FindPackageShare("edgesam_ros").perform(context))
    params_file = LaunchConfiguration("params_file").perform(context)
    overrides = {
        parameter: _parameter_value(text)
        for arg, parameter in PARAMETER_ARGS.items()
        if (text := LaunchConfiguration(arg).perform(context))
    }
    remappings = [(topic, LaunchConfiguration(arg).perform(context))
                  for arg, topic in REMAP_ARGS.items()]
    namespace = LaunchConfiguration("namespace").perform(context)
    node = LifecycleNode(
        package="edgesam_ros",
        executable="segment_node",
        name=launch_support.NODE_NAME,
        namespace=namespace,
        parameters=[params_file or str(share / "config" / "segment.yaml"), overrides],
        remappings=remappings,
        additional_env=launch_support.node_environment(
            LaunchConfiguration("dds_profile").perform(context), share / "config"),
        output="screen",
    )
    if not IfCondition(LaunchConfiguration("rviz")).evaluate(context):
        return [node]
    if not launch_support.rviz_available():
        return [node, LogInfo(msg="WARNING: rviz:=true but rviz2 is not installed: "
                              "starting the node without RViz")]
    rviz_file = launch_support.write_rviz_config(
        share / "config" / "segment.rviz", dict(remappings)["image"], namespace)
    return [node, Node(package="rviz2", executable="rviz2", arguments=["-d", str(rviz_file)])]


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, (default, description) in DEFAULTS.items()
    ]
    arguments += [
        DeclareLaunchArgument(arg, default_value="", description=f"node parameter {parameter}")
        for arg, parameter in PARAMETER_ARGS.items()
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_launch_setup)])
