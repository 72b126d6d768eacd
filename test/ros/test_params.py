"""Parameters: one table, a parameter file that matches it, and a launch file that cannot drift."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
import yaml

from edgesam_ros.ros import params

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch" / "segment.launch.py"
LAUNCH_ONLY_ARGS = {"params_file", "namespace", "rviz"}


def defaults() -> dict:
    return {p.name: p.default for p in params.PARAMS}


def test_defaults_are_valid_and_build_engine_and_tracker_configs():
    values = params.validate(defaults())
    assert params.engine_config(values).providers == ("tensorrt", "cuda", "cpu")
    assert params.tracker_config(values).auto is False
    assert params.settings({**values, "mode": "both"}).tracker.auto is True


def test_every_parameter_has_a_description():
    assert all(p.description.endswith(".") for p in params.PARAMS)


def test_config_file_lists_every_parameter_with_its_default():
    document = yaml.safe_load((REPO / "config" / "segment.yaml").read_text())
    values = document["/**"]["ros__parameters"]
    assert values == defaults()


def test_validation_names_every_bad_parameter_and_what_it_accepts():
    values = {**defaults(), "mode": "everything", "tracker.min_stability": 1.5,
              "image.reliability": "sometimes", "engine.providers": ["quantum"],
              "max_objects": "many", "depth.enabled": "yes"}
    with pytest.raises(params.ParameterError) as error:
        params.validate(values)
    text = str(error.value)
    for expected in ("mode = 'everything': expected one of prompt, auto, both",
                     "tracker.min_stability = 1.5: expected a number in [0.0, 1.0]",
                     "image.reliability = 'sometimes': expected one of best_effort, reliable",
                     "engine.providers", "max_objects = 'many': expected an integer",
                     "depth.enabled = 'yes': expected true or false"):
        assert expected in text


def test_integers_are_accepted_for_numbers_and_cross_checks_run():
    assert params.validate({**defaults(), "overlay.alpha": 1})["overlay.alpha"] == 1.0
    with pytest.raises(params.ParameterError, match="both be set"):
        params.validate({**defaults(), "model.encoder": "/m/encoder.onnx"})
    with pytest.raises(params.ParameterError, match="min_area_ratio must not exceed"):
        params.validate({**defaults(), "tracker.min_area_ratio": 2.0,
                         "tracker.max_area_ratio": 1.5})


def _launch_constants() -> dict[str, object]:
    """The module-level dict literals of the launch file, read without importing launch_ros."""
    tree = ast.parse(LAUNCH.read_text())
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
    }


def test_launch_arguments_map_to_declared_parameters_or_remaps():
    constants = _launch_constants()
    parameter_args, remap_args, described = (
        constants["PARAMETER_ARGS"], constants["REMAP_ARGS"], constants["DEFAULTS"])
    for arg, parameter in parameter_args.items():
        assert parameter in params.BY_NAME, f"launch arg {arg} -> undeclared parameter {parameter}"
    node_source = (REPO / "edgesam_ros" / "ros" / "node.py").read_text()
    for arg, topic in remap_args.items():
        assert f'"{topic}"' in node_source, f"launch arg {arg} remaps {topic}, the node has none"
    assert set(described) - set(remap_args) == LAUNCH_ONLY_ARGS
    assert not set(parameter_args) & set(described)


def test_launch_description_builds_when_launch_ros_is_installed():
    pytest.importorskip("launch_ros", reason="launch_ros is not installed (no ROS 2 distro)")
    spec = importlib.util.spec_from_file_location("segment_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    names = {a.name for a in description.get_launch_arguments()}
    assert {"image", "params_file", "namespace", "rviz", "encoder", "mode"} <= names
