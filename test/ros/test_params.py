"""Parameters: one table, and a parameter file that matches it (launch file: test_launch.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edgesam_ros.ros import params

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[2]


def defaults() -> dict:
    return {p.name: p.default for p in params.PARAMS}


def test_defaults_are_valid_and_build_engine_and_tracker_configs():
    values = params.validate(defaults())
    assert params.engine_config(values).providers == ("tensorrt", "cuda", "cpu")
    assert params.tracker_config(values).auto is False
    assert params.settings({**values, "mode": "both"}).tracker.auto is True
    engine = params.engine_config({**values, "engine.resize": "cv2", "engine.selection": "sam"})
    assert (engine.resize, engine.selection) == ("cv2", "sam")
    with pytest.raises(params.ParameterError, match=r"engine\.selection = 'iou': expected one of "
                       "family, edgesam, sam, stability"):
        params.validate({**values, "engine.selection": "iou"})


def test_every_parameter_has_a_description():
    assert all(p.description.endswith(".") for p in params.PARAMS)


def test_config_file_lists_every_parameter_with_its_default():
    document = yaml.safe_load((REPO / "config" / "segment.yaml").read_text())
    values = document["/**"]["ros__parameters"]
    assert not set(values) - set(params.BY_NAME), "in segment.yaml, not declared by the node"
    assert not set(params.BY_NAME) - set(values), "declared by the node, not in segment.yaml"
    assert values == defaults()


def test_every_parameter_is_documented_in_the_node_guide():
    rows = [line for line in (REPO / "docs" / "node.md").read_text().splitlines()
            if line.startswith("| `")]
    documented = {row.split("`")[1]: row for row in rows}
    for param in params.PARAMS:
        assert param.name in documented, f"{param.name} is missing from docs/node.md"
        assert param.accepted in documented[param.name], (param.name, param.accepted)
        assert ("| yes |" in documented[param.name]) == param.dynamic, param.name


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


def test_memory_mode_names_what_it_cannot_run_with():
    memory = {**defaults(), "tracker.mode": "memory", "tracker.memory.model_dir": "/m/edgetam"}
    assert params.validate(memory)["tracker.mode"] == "memory"
    with pytest.raises(params.ParameterError, match=r"set engine\.backend local"):
        params.validate({**memory, "engine.backend": "triton"})
    with pytest.raises(params.ParameterError, match="works with mode prompt only, not 'auto'"):
        params.validate({**memory, "mode": "auto"})
    with pytest.raises(params.ParameterError, match=r"needs tracker\.memory\.model_dir"):
        params.validate({**memory, "tracker.memory.model_dir": ""})
