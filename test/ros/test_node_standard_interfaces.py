"""The node through the standard ROS 2 interfaces other tools use: parameter services (what
`ros2 param set/describe/dump` call), /diagnostics and /rosout, from another node over DDS."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest
import yaml
from conftest import NodeHarness, random_model_parameters, wait_for
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import Log, Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import (
    DescribeParameters,
    GetParameters,
    GetParameterTypes,
    ListParameters,
    SetParameters,
)
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter as RclpyParameter
from sensor_msgs.msg import Image

from edgesam_ros.ros import convert, qos
from edgesam_ros.ros.node import SegmentNode

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")
pytestmark = pytest.mark.ros
NAMESPACE, NAME = "/robot7", "edgesam_std"
FQN = f"{NAMESPACE}/{NAME}"
SUCCESS = TransitionCallbackReturn.SUCCESS


class Rig(NodeHarness):
    """A SegmentNode in NAMESPACE and a client node, spinning (the node stays unconfigured)."""

    def __init__(self, name: str = NAME, **parameters: object) -> None:
        super().__init__(parameters, name, NAMESPACE)
        self.spin()

    def call(self, srv_type: type, service: str, request: object) -> object:
        return super().call(srv_type, f"{self.prefix}/{service}", request)


@pytest.fixture
def rig(ros_context) -> Iterator[Rig]:
    rig = Rig(**random_model_parameters(**{"diagnostics.period": 0.1}))
    yield rig
    rig.close()


def _set(rig: Rig, name: str, value: ParameterValue) -> bool:
    request = SetParameters.Request(parameters=[Parameter(name=name, value=value)])
    return rig.call(SetParameters, "set_parameters", request).results[0].successful


def _described_type(rig: Rig, name: str) -> int:
    request = DescribeParameters.Request(names=[name])
    return rig.call(DescribeParameters, "describe_parameters", request).descriptors[0].type


def test_a_rejected_set_leaves_the_declared_type_and_value(rig):
    """`ros2 param set /robot7/edgesam_std tracker.min_stability high`, then `describe`."""
    name, double = "tracker.min_stability", ParameterType.PARAMETER_DOUBLE
    before = rig.node.get_parameter(name).value
    assert _described_type(rig, name) == double
    text = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="high")
    too_big = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=5)
    for rejected in (text, too_big):
        assert not _set(rig, name, rejected)
        assert _described_type(rig, name) == double
        types = rig.call(GetParameterTypes, "get_parameter_types",
                         GetParameterTypes.Request(names=[name])).types
        assert list(types) == [double]
        values = rig.call(GetParameters, "get_parameters",
                          GetParameters.Request(names=[name])).values
        assert (values[0].type, values[0].double_value) == (double, before)
    assert _set(rig, name, ParameterValue(type=double, double_value=0.25))
    assert _described_type(rig, name) == double and rig.node.get_parameter(name).value == 0.25


def _nested(flat: dict[str, object]) -> dict:
    """`ros2 param dump` writes dotted names as nested mappings."""
    out: dict = {}
    for name, value in flat.items():
        *groups, leaf = name.split(".")
        target = out
        for group in groups:
            target = target.setdefault(group, {})
        target[leaf] = value
    return out


def _dump(rig: Rig) -> dict[str, object]:
    """Every parameter of the node with its value, read through the parameter services."""
    names = list(rig.call(ListParameters, "list_parameters", ListParameters.Request()).result.names)
    values = rig.call(GetParameters, "get_parameters", GetParameters.Request(names=names)).values
    return {n: RclpyParameter.from_parameter_msg(Parameter(name=n, value=v)).value
            for n, v in zip(names, values, strict=True)}


def test_a_dumped_parameter_file_is_accepted_without_warnings(rig, tmp_path, capfd):
    dumped = _dump(rig)
    assert {"use_sim_time", "start_type_description_service"} <= set(dumped)  # rclpy's own
    dumped["tracker.min_stabilty"] = 0.5  # and one typo, which must still be named
    path = tmp_path / "dump.yaml"
    path.write_text(yaml.safe_dump({FQN: {"ros__parameters": _nested(dumped)}}))
    rig.close()
    capfd.readouterr()
    again = SegmentNode(NAME, namespace=NAMESPACE, cli_args=["--ros-args", "--params-file",
                                                             str(path)])
    try:
        assert again.trigger_configure() == SUCCESS
        assert again.get_parameter("model.encoder").value == dumped["model.encoder"]
    finally:
        again.on_shutdown(None)
        again.destroy_node()
    warnings = [line for line in capfd.readouterr().err.splitlines() if "unknown" in line]
    assert len(warnings) == 1 and warnings[0].endswith(
        "ignoring unknown parameters: tracker.min_stabilty"), warnings
    rig.close = lambda: None  # closed above


def test_diagnostics_name_the_node_with_its_namespace_and_count_frames_lost_before_it(rig):
    """Frames 0-9 and 13-17 of a 10 Hz camera arrive: 3 were lost on the way, and it says so."""
    statuses: list = []
    rig.client.create_subscription(
        DiagnosticArray, "/diagnostics", lambda m: statuses.extend(m.status),
        qos.profile("reliable", 10))
    assert rig.node.autostart()
    results = rig.listen(msg.SegmentationArray, f"{FQN}/segmentation")
    camera = rig.publisher(Image, f"{NAMESPACE}/image")
    for frame in [*range(10), *range(13, 18)]:
        image = convert.array_to_image(np.zeros((48, 64, 3), np.uint8), "rgb8")
        image.header.stamp.sec, image.header.stamp.nanosec = 100 + frame // 10, frame % 10 * 10**8
        camera.publish(image)
        assert wait_for(lambda image=image: any(r.header == image.header for r in results), 10)
    count = len(statuses)
    assert wait_for(lambda: any(s.name.startswith(FQN) for s in statuses[count:]), 10)
    ours = [s for s in statuses if NAME in s.name]
    assert {s.name for s in ours} == {f"{FQN}: segmentation"}
    values = {kv.key: kv.value for kv in ours[-1].values}
    assert (values["frames received"], values["frames lost before node"],
            values["camera rate from stamps (Hz)"]) == ("15", "3", "10.0")
    warned = [s for s in ours if "lost before the node" in s.message]  # once, after the gap
    assert len(warned) == 1 and warned[0].level == DiagnosticStatus.WARN
    assert re.match(r"3 of \d+ camera frames lost before the node", warned[0].message)


def test_engine_warnings_reach_rosout_from_the_node(ros_context):
    """onnxruntime provider fallback (Python logging in the engine) is logged on /rosout."""
    rig = Rig("edgesam_logs", **random_model_parameters(**{"engine.providers": ["cuda", "cpu"]}))
    try:
        logs: list[Log] = []
        rig.client.create_subscription(Log, "/rosout", logs.append, qos.profile("reliable", 100))
        assert wait_for(lambda: rig.client.count_publishers("/rosout") >= 2, 10)
        assert rig.node.trigger_configure() == SUCCESS
        expected = f"{rig.prefix.strip('/').replace('/', '.')}.engine"  # robot7.edgesam_logs.engine

        def fallback() -> list[Log]:
            return [m for m in logs if m.name == expected and "CUDAExecutionProvider" in m.msg]
        assert wait_for(lambda: bool(fallback()), 10), sorted({m.name for m in logs})
        assert fallback()[0].level == Log.WARN
        assert "falling back to CPUExecutionProvider" in fallback()[0].msg
    finally:
        rig.close()
