"""Labels on segment-bag's own prompts: `--prompt/--box ...,label=NAME` and `--prompts-file`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bag_helpers import FRAMES, SMALL
from rosbags.rosbag2 import Reader

pytest.importorskip("rclpy", reason="segment-bag uses rclpy serialisation and the node messages")

from edgesam_ros.bags import fixtures, prompts_file, segment_bag
from edgesam_ros.bags.errors import BagError
from edgesam_ros.bags.offline import SegmentOptions, segment
from edgesam_ros.bags.typestore import typestore
from edgesam_ros.engine import SamEngine


def test_command_line_prompts_take_an_optional_label() -> None:
    args = segment_bag.parser().parse_args(
        ["a", "b", "--prompt", "3,4,label=red mug", "--prompt", "5,6",
         "--box", "1,2,30,40,label=a,b"])
    assert [p.label for p in args.prompt] == ["red mug", ""]
    assert args.prompt[0].points.tolist() == [[3.0, 4.0]]
    assert (args.box[0].label, args.box[0].box.tolist()) == ("a,b", [1.0, 2.0, 30.0, 40.0])


def test_a_prompts_file_gives_frames_labels_boxes_and_points(tmp_path: Path) -> None:
    path = tmp_path / "prompts.yaml"
    path.write_text("prompts:\n"
                    "  - {label: mug, box: [1, 2, 30, 40]}\n"
                    "  - {frame: 5, points: [[10, 20], [12, 22, 0]]}\n")
    (first_frame, mug), (later_frame, unlabelled) = prompts_file.load(path)
    assert (first_frame, mug.label, mug.box.tolist(), mug.points.shape) == (
        0, "mug", [1, 2, 30, 40], (0, 2))
    assert (later_frame, unlabelled.label, unlabelled.box) == (5, "", None)
    assert unlabelled.points.tolist() == [[10, 20], [12, 22]]
    assert unlabelled.labels.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prompts: []\n", "expected a list of prompts under the key 'prompts'"),
        ("- {box: [1, 2, 3, 4]}\n", "expected a list of prompts under the key 'prompts'"),
        ("prompts: [{label: x}]\n", "prompt 1: a prompt needs a box, points or both"),
        ("prompts: [{box: [1, 2, 3]}]\n",
         "prompt 1: box needs a list of 4 finite numbers, got [1, 2, 3]"),
        ("prompts: [{box: [1, 2, 3, 4]}, {box: [1, 2, 3, .nan]}]\n",
         "prompt 2: box needs a list of 4 finite numbers, got [1, 2, 3, nan]"),
        ("prompts: [{points: [[1, 2, 5]]}]\n",
         "prompt 1: a point's third value is 1 (foreground) or 0 (background)"),
        ("prompts: [{frame: -1, box: [1, 2, 3, 4]}]\n",
         "prompt 1: frame must be an image index (0 or more), got -1"),
        ("prompts: [{box: [1, 2, 3, 4], colour: red}]\n",
         "prompt 1: unknown key 'colour' (known: box, frame, label, points)"),
        ("prompts: [{box: [1, 2, 3, 4], label: 7}]\n", "prompt 1: label must be text, got 7"),
        ("prompts: [\n", "prompts.yaml: expected the node content, but found '<stream end>' "
                         "at line 2, column 1"),
    ],
)
def test_a_bad_prompts_file_is_one_line_naming_the_prompt(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "prompts.yaml"
    path.write_text(text)
    with pytest.raises(BagError) as error:
        prompts_file.load(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_segment_bag_refuses_a_bad_prompts_file_before_loading_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "prompts.yaml"
    path.write_text("prompts: [{label: x}]\n")
    argv = [str(tmp_path / "in"), str(tmp_path / "out"), "--prompts-file", str(path)]
    assert segment_bag.main(argv) == 2
    assert capsys.readouterr().err == (f"segment-bag: error: {path}: prompt 1: a prompt needs "
                                       "a box, points or both\n")


def _box_of(ids: np.ndarray, object_id: int) -> list[float]:
    ys, xs = np.nonzero(ids == object_id)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def test_file_prompts_start_labelled_objects_on_their_frames(
    engine: SamEngine, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    truth = fixtures.make_bag(plain, fixtures.FixtureOptions(frames=FRAMES,
                                                             **{**SMALL, "prompts": False}))
    first, later = 0, 3
    visible = [int(i) for i in np.unique(truth.id_images[later]) if i]
    path = tmp_path / "prompts.yaml"
    first_box = _box_of(truth.id_images[first], visible[0])
    later_box = _box_of(truth.id_images[later], visible[-1])
    path.write_text("prompts:\n"
                    f"  - {{frame: {first}, label: first, box: {first_box}}}\n"
                    f"  - {{frame: {later}, label: later, box: {later_box}}}\n"
                    "  - {frame: 99, box: [1, 1, 9, 9]}\n")
    options = SegmentOptions(frame_prompts=tuple(prompts_file.load(path)), progress=False)
    summary = segment(engine, plain, tmp_path / "out", options)
    assert summary.rejected == [f"add for image 99: the bag has only {FRAMES} images"]
    labels_per_frame = []
    with Reader(tmp_path / "out") as reader:
        connections = [c for c in reader.connections if c.topic == "/edgesam/segmentation"]
        for connection, _, raw in reader.messages(connections):
            result = typestore().deserialize_cdr(raw, connection.msgtype)
            labels_per_frame.append({o.label for o in result.objects})
    assert len(labels_per_frame) == FRAMES
    first_seen = {label: next(k for k, labels in enumerate(labels_per_frame) if label in labels)
                  for label in ("first", "later")}
    assert first_seen == {"first": first, "later": later}
