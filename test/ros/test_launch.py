"""launch/segment.launch.py stays thin: every argument is a node parameter, a remap or one of
params_file / namespace / rviz / dds_profile.

launch_ros is not installable everywhere (PyPI wheels have no launch_ros), so the mapping is read
from the file's text (AST) and checked against the node itself; the tests that import or run the
launch file skip without launch_ros.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rclpy
import yaml
from conftest import RANDOM_MODEL, random_model_parameters

from edgesam_ros.ros import params

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch" / "segment.launch.py"
LAUNCH_ONLY_ARGS = {"params_file", "namespace", "rviz", "dds_profile"}
TREE = ast.parse(LAUNCH.read_text())


def _constants() -> dict[str, object]:
    """The module-level dict literals of the launch file, read without importing launch_ros."""
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in TREE.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
    }


def _function(name: str) -> object:
    """A plain function of the launch file (one that needs nothing from launch), compiled alone."""
    definition = next(n for n in TREE.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace: dict = {"yaml": yaml}
    exec(compile(ast.Module([definition], []), str(LAUNCH), "exec"), namespace)
    return namespace[name]


def _launch_configurations() -> set[str]:
    """Names read with LaunchConfiguration("...") literals anywhere in the file."""
    return {
        node.args[0].value
        for node in ast.walk(TREE)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "LaunchConfiguration"
        and node.args and isinstance(node.args[0], ast.Constant)
    }


def test_every_launch_argument_is_a_parameter_a_remap_or_a_launch_setting():
    constants = _constants()
    parameter_args, remap_args, described = (
        constants["PARAMETER_ARGS"], constants["REMAP_ARGS"], constants["DEFAULTS"])
    for arg, parameter in parameter_args.items():
        assert parameter in params.BY_NAME, f"launch arg {arg} -> undeclared parameter {parameter}"
    assert set(described) - set(remap_args) == LAUNCH_ONLY_ARGS
    assert set(remap_args) <= set(described)  # remaps have a default topic and a description
    assert not set(parameter_args) & set(described)
    # the launch-level settings are used, and nothing else is read by name
    assert _launch_configurations() == LAUNCH_ONLY_ARGS


def test_launch_argument_text_becomes_a_valid_parameter_value():
    """What a user types (`use_depth:=true`, `providers:="[cuda, cpu]"`) passes validation."""
    parameter_value = _function("_parameter_value")
    typed = {"encoder": "/m/encoder.onnx", "decoder": "/m/decoder.onnx", "mode": "auto",
             "providers": "[cuda, cpu]", "image_transport": "compressed",
             "image_reliability": "reliable", "use_depth": "true", "autostart": "false"}
    assert set(typed) == set(_constants()["PARAMETER_ARGS"]), "new launch argument: add it here"
    values = {p.name: p.default for p in params.PARAMS}
    for arg, text in typed.items():
        values[_constants()["PARAMETER_ARGS"][arg]] = parameter_value(text)
    checked = params.validate(values)
    assert checked["engine.providers"] == ["cuda", "cpu"]
    assert checked["depth.enabled"] is True and checked["autostart"] is False
    assert parameter_value("0001") == 1 and parameter_value("a:b") == "a:b"


def test_remap_arguments_move_the_node_topics(ros_context):
    """Each remap argument's relative name is the one the node really uses."""
    from rclpy.parameter import Parameter

    from edgesam_ros.ros.node import SegmentNode

    remap_args = _constants()["REMAP_ARGS"]
    targets = {topic: f"/remap_check/{arg}" for arg, topic in remap_args.items()}
    cli = ["--ros-args", *[a for t, target in targets.items() for a in ("-r", f"{t}:={target}")]]
    overrides = random_model_parameters(**{"depth.enabled": True})
    node = SegmentNode("edgesam_remap", cli_args=cli,
                       parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
    try:
        assert node.autostart()
        subscribed = {name for name, _ in node.get_topic_names_and_types()}
        for target in targets.values():
            assert target in subscribed, (target, sorted(subscribed))
            assert node.get_subscriptions_info_by_topic(target), target
        assert "/remap_check/image_mouse_left" in subscribed  # clicks follow the image
    finally:
        node.on_shutdown(None)
        node.destroy_node()


def test_launch_description_builds_when_launch_ros_is_installed():
    pytest.importorskip("launch_ros", reason="launch_ros is not installed (no ROS 2 distro)")
    spec = importlib.util.spec_from_file_location("segment_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    names = {a.name for a in description.get_launch_arguments()}
    expected = LAUNCH_ONLY_ARGS | set(module.REMAP_ARGS) | set(module.PARAMETER_ARGS)
    assert names == expected


RUN_LAUNCH = """
import sys
from launch import LaunchDescription, LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
arguments = [a.split(":=", 1) for a in sys.argv[2:]]
service = LaunchService()
service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
    PythonLaunchDescriptionSource(sys.argv[1]), launch_arguments=arguments)]))
sys.exit(service.run())
"""


def test_launch_file_starts_an_active_node_when_launch_ros_is_installed(ros_node):
    """`ros2 launch edgesam_ros segment.launch.py image:=... namespace:=...` (run for real)."""
    pytest.importorskip("launch_ros", reason="launch_ros is not installed (no ROS 2 distro)")
    if not (REPO / "install" / "edgesam_ros" / "lib" / "edgesam_ros" / "segment_node").is_file():
        pytest.skip("not built with colcon (run `make build`)")
    random_model_parameters()  # skips without the test model
    arguments = ["image:=/launch_check/camera", "namespace:=launch_check",
                 f"encoder:={RANDOM_MODEL / 'encoder.onnx'}",
                 f"decoder:={RANDOM_MODEL / 'decoder.onnx'}", "providers:=[cpu]", "mode:=both"]
    process = subprocess.Popen([sys.executable, "-c", RUN_LAUNCH, str(LAUNCH), *arguments],
                               env={**os.environ, "OMP_NUM_THREADS": "1"}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60

        def active() -> bool:
            return bool(ros_node.get_publishers_info_by_topic("/launch_check/edgesam/segmentation")
                        and ros_node.get_subscriptions_info_by_topic("/launch_check/camera"))
        while not active() and time.monotonic() < deadline and process.poll() is None:
            rclpy.spin_once(ros_node, timeout_sec=0.2)
        assert active(), "the launched node did not become active"
        publishers = ros_node.get_publishers_info_by_topic("/launch_check/edgesam/segmentation")
        assert {(p.node_name, p.node_namespace) for p in publishers} == {
            ("edgesam", "/launch_check")}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
    assert "Traceback" not in output, output
