"""Fixture bags open with rosbags and hold what they claim, in both storage formats."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from bag_helpers import FRAMES, SMALL
from rosbags.interfaces import QosDurability, QosReliability
from rosbags.rosbag2 import Reader

from edgesam_ros.bags import fixtures
from edgesam_ros.bags.fixtures import FixtureOptions, make_bag
from edgesam_ros.bags.groundtruth import GroundTruth
from edgesam_ros.bags.storage import METADATA_VERSION
from edgesam_ros.bags.typestore import typestore
from edgesam_ros.scenes import generate_sequence, sequence_preset

TOPICS = {
    fixtures.IMAGE_TOPIC: "sensor_msgs/msg/Image",
    fixtures.CAMERA_INFO_TOPIC: "sensor_msgs/msg/CameraInfo",
    fixtures.COMPRESSED_TOPIC: "sensor_msgs/msg/CompressedImage",
    fixtures.DEPTH_TOPIC: "sensor_msgs/msg/Image",
    fixtures.PROMPTS_TOPIC: "edgesam_ros/msg/ObjectPromptArray",
}


def _messages(bag: Path, topic: str) -> list[tuple[int, bytes, object]]:
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [
            (t, bytes(raw), typestore().deserialize_cdr(raw, c.msgtype))
            for c, t, raw in reader.messages(connections)
        ]


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_bag_has_every_topic_with_its_count(bags: dict[str, Path], storage: str) -> None:
    truth = GroundTruth.load(bags[storage])
    with Reader(bags[storage]) as reader:
        found = {t: (i.msgtype, i.msgcount) for t, i in reader.topics.items()}
        prompted = [o for o in truth.info["objects"] if o["prompt_frame"] is not None]
        prompt_frames = {o["prompt_frame"] for o in prompted}
        for topic, msgtype in TOPICS.items():
            expected = len(prompt_frames) if topic == fixtures.PROMPTS_TOPIC else FRAMES
            assert found[topic] == (msgtype, expected), topic
        assert reader.message_count == 4 * FRAMES + len(prompt_frames)
        assert all(c.msgdef.data for c in reader.connections), "message definitions are stored"


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_metadata_is_what_humble_to_kilted_read(bags: dict[str, Path], storage: str) -> None:
    """Version 8, QoS profiles as a YAML string with numeric policies, a RIHS01 hash per topic."""
    meta = yaml.safe_load((bags[storage] / "metadata.yaml").read_text())
    info = meta["rosbag2_bagfile_information"]
    assert info["version"] == METADATA_VERSION == 8
    assert info["storage_identifier"] == storage
    for entry in info["topics_with_message_count"]:
        topic = entry["topic_metadata"]
        assert isinstance(topic["offered_qos_profiles"], str)
        profile = yaml.safe_load(topic["offered_qos_profiles"])[0]
        reliable = topic["name"] == fixtures.PROMPTS_TOPIC
        assert profile["reliability"] == (1 if reliable else 2)  # rmw: reliable 1, best effort 2
        assert topic["type_description_hash"].startswith("RIHS01_")


def test_our_type_hashes_match_the_generated_interfaces() -> None:
    """rosbags' RIHS01 of our messages equals rosidl's, so ROS 2 tools accept the bags."""
    generated = sorted(Path(__file__).resolve().parents[2].glob("install/*/share/edgesam_ros/msg"))
    if not generated:
        pytest.skip("interfaces not built (make build)")
    for path in generated[0].glob("*.json"):
        expected = json.loads(path.read_text())["type_hashes"][0]["hash_string"]
        assert typestore().hash_rihs01(f"edgesam_ros/msg/{path.stem}") == expected, path.stem


def test_qos_of_camera_and_prompts(bags: dict[str, Path]) -> None:
    with Reader(bags["mcap"]) as reader:
        qos = {c.topic: c.ext.offered_qos_profiles[0] for c in reader.connections}
    assert qos[fixtures.IMAGE_TOPIC].reliability == QosReliability.BEST_EFFORT
    assert qos[fixtures.PROMPTS_TOPIC].reliability == QosReliability.RELIABLE
    assert qos[fixtures.PROMPTS_TOPIC].durability == QosDurability.TRANSIENT_LOCAL


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_images_depth_and_ground_truth_match_the_sequence(
    bags: dict[str, Path], storage: str
) -> None:
    config = dataclasses.replace(
        sequence_preset("tiny").config, width=320, height=240, num_frames=FRAMES, with_depth=True
    )
    sequence = generate_sequence(0, config)
    truth = GroundTruth.load(bags[storage])
    images = _messages(bags[storage], fixtures.IMAGE_TOPIC)
    depths = _messages(bags[storage], fixtures.DEPTH_TOPIC)
    compressed = _messages(bags[storage], fixtures.COMPRESSED_TOPIC)
    for t in (0, 7):
        scene = sequence[t]
        _, raw, image = images[t]
        assert (image.encoding, image.height, image.width) == ("rgb8", 240, 320)
        np.testing.assert_array_equal(image.data.reshape(240, 320, 3), scene.image)
        assert typestore().serialize_cdr(image, image.__msgtype__) == raw  # CDR round trip
        depth = depths[t][2]
        assert depth.encoding == "32FC1"
        np.testing.assert_array_equal(depth.data.view(np.float32).reshape(240, 320), scene.depth)
        png = cv2.imdecode(compressed[t][2].data, cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(png[..., ::-1], scene.image)  # lossless
        np.testing.assert_array_equal(truth.id_images[t], scene.id_image())
        assert truth.stamps_ns[t] == images[t][2].header.stamp.sec * 10**9 + (
            images[t][2].header.stamp.nanosec
        )


def test_prompts_carry_ground_truth_boxes_and_ids(bags: dict[str, Path]) -> None:
    truth = GroundTruth.load(bags["sqlite3"])
    stamps = {int(s): t for t, s in enumerate(truth.stamps_ns)}
    seen = {}
    for log_time, _, array in _messages(bags["sqlite3"], fixtures.PROMPTS_TOPIC):
        stamp = array.header.stamp.sec * 10**9 + array.header.stamp.nanosec
        assert log_time < stamp, "a prompt is logged just before the image it names"
        for prompt in array.prompts:
            assert prompt.action == 0 and prompt.has_box and prompt.track
            seen[prompt.object_id] = (stamps[stamp], prompt.box.tolist())
    for obj in truth.info["objects"]:
        if obj["prompt_frame"] is not None:
            assert seen[obj["id"]] == (obj["prompt_frame"], obj["prompt_box"])
            frame = truth.id_images[obj["prompt_frame"]]
            ys, xs = np.nonzero(frame == obj["id"])
            assert obj["prompt_box"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_same_options_same_bytes(tmp_path: Path) -> None:
    options = FixtureOptions(frames=3, storage="mcap", **SMALL)
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        make_bag(tmp_path / run / "bag", options)
    assert (tmp_path / "a/bag/bag.mcap").read_bytes() == (tmp_path / "b/bag/bag.mcap").read_bytes()


def test_make_bag_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    argv = [str(out), "--preset", "tiny", "--frames", "3", "--size", "160x120", "--storage", "mcap"]
    assert fixtures.main(argv) == 0
    assert "3 frames 160x120" in capsys.readouterr().out
    with Reader(out) as reader:
        assert set(reader.topics) == {fixtures.IMAGE_TOPIC, fixtures.CAMERA_INFO_TOPIC}
