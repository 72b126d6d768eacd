"""Bad input to the bag tools: exit code 2, one line naming the problem, nothing overwritten."""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest
from bag_helpers import model_paths
from rosbags.interfaces import (
    Connection,
    ConnectionExtRosbag2,
    MessageDefinition,
    MessageDefinitionFormat,
)
from rosbags.rosbag2 import Writer

from edgesam_ros.bags import fixtures
from edgesam_ros.bags.errors import BagError
from edgesam_ros.bags.fixtures import FixtureOptions, make_bag
from edgesam_ros.bags.storage import BagWriter

pytest.importorskip("rclpy", reason="play and segment-bag need rclpy")

from edgesam_ros.bags import replay, segment_bag


def _fails(main, argv: list[str], capsys: pytest.CaptureFixture[str], expected: str) -> None:
    """`main(argv)` returns 2 and prints exactly one line containing `expected`."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err


@pytest.fixture(scope="module")
def foreign_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bag whose only topic has a type no installed package defines."""
    path = tmp_path_factory.mktemp("foreign") / "bag"
    with Writer(path, version=8) as writer:
        connection = writer.add_connection(
            "/bar", "foo_msgs/msg/Bar", msgdef="int32 x\n", rihs01="RIHS01_" + "0" * 64
        )
        writer.write(connection, 1, b"\x00\x01\x00\x00\x07\x00\x00\x00")
    return path


@pytest.fixture(scope="module", params=["sqlite3", "mcap"])
def truncated_bag(
    request: pytest.FixtureRequest, bags: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of a fixture bag whose storage file lost its second half."""
    path = tmp_path_factory.mktemp("truncated") / request.param
    shutil.copytree(bags[request.param], path)
    (storage,) = [p for p in path.iterdir() if p.suffix in (".db3", ".mcap")]
    os.truncate(storage, storage.stat().st_size // 2)
    return path


def _corrupt_storage(bag: Path, into: Path) -> Path:
    """A copy of `bag` with damaged content but an intact index: an sqlite overflow page (image
    bytes) pointing nowhere, or every 97th byte of the middle half of an MCAP file (its zstd
    chunks) flipped."""
    shutil.copytree(bag, into)
    (storage,) = [p for p in into.iterdir() if p.suffix in (".db3", ".mcap")]
    data = bytearray(storage.read_bytes())
    if storage.suffix == ".db3":
        with sqlite3.connect(storage) as db:
            page = db.execute("PRAGMA page_size").fetchone()[0]
            pages = [r[0] for r in db.execute(
                "SELECT pageno FROM dbstat WHERE pagetype = 'overflow' ORDER BY pageno")]
        start = (pages[len(pages) // 2] - 1) * page
        data[start:start + 4] = struct.pack(">I", 0x7FFFFFFF)  # next overflow page: none such
    else:
        for i in range(len(data) // 4, 3 * len(data) // 4, 97):
            data[i] ^= 0xFF
    storage.write_bytes(bytes(data))
    return into


@pytest.mark.parametrize(("storage", "expected"), [
    ("sqlite3", "is damaged: database disk image is malformed"),
    ("mcap", "is damaged: Unable to decompress Zstandard data"),
])
def test_corrupt_content_inside_a_bag(
    bags: dict[str, Path], storage: str, expected: str, tmp_path: Path, capsys
) -> None:
    bag = _corrupt_storage(bags[storage], tmp_path / "corrupt")
    _fails(segment_bag.main, [bag, tmp_path / "out", "--no-progress", *_model()], capsys, expected)
    assert not (tmp_path / "out").exists()


def _model() -> list:
    encoder, decoder = model_paths()
    return ["--encoder", encoder, "--decoder", decoder]


def test_malformed_message_bytes_and_an_empty_image_topic(tmp_path: Path, capsys) -> None:
    from edgesam_ros.bags.storage import SENSOR_QOS

    for name, payloads in (("cdr", [b"\x00\x01\x00\x00" + b"\xff" * 40]), ("empty", [])):
        with BagWriter(tmp_path / name, "mcap") as writer:
            writer.add_topic("/camera/image_raw", "sensor_msgs/msg/Image", SENSOR_QOS)
            for payload in payloads:
                writer.write_raw("/camera/image_raw", 7, payload)
    argv = ["--box", "1,1,20,20", "--no-progress", *_model()]
    _fails(segment_bag.main, [tmp_path / "cdr", tmp_path / "out", *argv], capsys,
           "the message at 7 ns on /camera/image_raw is not a valid sensor_msgs/msg/Image "
           "(failed to deserialize ROS message")
    _fails(segment_bag.main, [tmp_path / "empty", tmp_path / "out", *argv], capsys,
           "/empty has no messages: nothing to segment")
    assert not (tmp_path / "out").exists()


def test_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails(segment_bag.main, [tmp_path / "nope", tmp_path / "out"], capsys, "does not exist")
    _fails(replay.main, [tmp_path / "nope"], capsys, "does not exist")


def test_missing_topic(bags: dict[str, Path], tmp_path: Path, capsys) -> None:
    argv = [bags["sqlite3"], tmp_path / "out", "--image-topic", "/camera/nope"]
    _fails(segment_bag.main, argv, capsys, "topic /camera/nope is not in")
    _fails(replay.main, [bags["mcap"], "--topics", "/camera/nope"], capsys, "/camera/nope")


def test_wrong_or_unknown_message_type(
    bags: dict[str, Path], foreign_bag: Path, tmp_path: Path, capsys
) -> None:
    argv = [bags["sqlite3"], tmp_path / "out", "--image-topic", fixtures.CAMERA_INFO_TOPIC]
    _fails(segment_bag.main, argv, capsys, "has type sensor_msgs/msg/CameraInfo, expected")
    argv = [foreign_bag, tmp_path / "out", "--image-topic", "/bar"]
    _fails(segment_bag.main, argv, capsys, "has type foo_msgs/msg/Bar")
    _fails(replay.main, [foreign_bag, "--topics", "/bar"], capsys,
           "unknown message type foo_msgs/msg/Bar")
    _fails(replay.main, [foreign_bag], capsys, "no topic to play")


def test_truncated_bag(truncated_bag: Path, tmp_path: Path, capsys) -> None:
    _fails(segment_bag.main, [truncated_bag, tmp_path / "out"], capsys, "damaged or truncated")
    _fails(replay.main, [truncated_bag], capsys, "damaged or truncated")
    assert not (tmp_path / "out").exists()


def test_existing_output_is_refused_and_kept(
    bags: dict[str, Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious").write_text("keep me")
    video = tmp_path / "video.mp4"
    video.write_text("old video")
    _fails(segment_bag.main, [bags["sqlite3"], out], capsys, "exists; pass --overwrite")
    _fails(segment_bag.main, [bags["sqlite3"], tmp_path / "new", "--mp4", video], capsys,
           f"{video} exists")
    _fails(fixtures.main, [out, "--preset", "tiny", "--frames", "2"], capsys, "exists")
    assert (out / "precious").read_text() == "keep me"
    assert video.read_text() == "old video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "video.mp4"]


def test_output_is_input_bad_prompts_or_nothing_to_do(
    bags: dict[str, Path], tmp_path: Path, capsys
) -> None:
    bag = bags["sqlite3"]
    _fails(segment_bag.main, [bag, bag, "--overwrite"], capsys, "is the input bag")
    model = ["--encoder", *model_paths()[:1], "--decoder", model_paths()[1], "--no-progress"]
    argv = [bag, tmp_path / "out", "--prompts-topic", fixtures.CAMERA_INFO_TOPIC, *model]
    _fails(segment_bag.main, argv, capsys, "expected edgesam_ros/msg/ObjectPromptArray")
    plain = tmp_path / "plain"
    make_bag(plain, FixtureOptions(preset="tiny", frames=2))
    _fails(segment_bag.main, [plain, tmp_path / "out", *model], capsys, "nothing to segment")


def test_bad_preset_and_model(bags: dict[str, Path], tmp_path: Path, capsys) -> None:
    _fails(fixtures.main, [tmp_path / "bag", "--preset", "nope"], capsys, "unknown sequence preset")
    argv = [bags["sqlite3"], tmp_path / "out", "--encoder", tmp_path / "missing.onnx",
            "--decoder", tmp_path / "missing.onnx"]
    _fails(segment_bag.main, argv, capsys, "cannot load the model")


def test_copying_a_topic_without_definition_of_an_unknown_type(tmp_path: Path) -> None:
    """Old (Humble) bags carry no definitions: unknown types cannot be copied, and say so."""
    unknown = Connection(
        1, "/x", "foo_msgs/msg/Bar", MessageDefinition(MessageDefinitionFormat.NONE, ""), "", 0,
        ConnectionExtRosbag2("cdr", []), None,
    )
    expected = pytest.raises(BagError, match="definition of foo_msgs/msg/Bar is neither")
    with expected, BagWriter(tmp_path / "out", "mcap") as writer:
        writer.copy_topic(unknown)
    assert list(tmp_path.iterdir()) == []


def test_make_bag_creates_the_missing_parents_of_out(tmp_path: Path, capsys) -> None:
    out = tmp_path / "runs" / "today" / "cam"
    assert fixtures.main([str(out), "--preset", "tiny", "--frames", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["cam.db3", "groundtruth.json", "groundtruth.npz", "metadata.yaml"])
    assert capsys.readouterr().out.startswith(f"wrote {out} (sqlite3): 2 frames")
