"""`edgesam-ros segment-bag`: outputs, alignment with the ground truth, interruption, atomicity."""

from __future__ import annotations

import dataclasses
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from bag_helpers import FRAMES, NO_TRAINED_MODEL, SMALL, TRAINED, model_paths
from rosbags.rosbag2 import Reader

pytest.importorskip("rclpy", reason="segment-bag uses rclpy serialisation and the node messages")

from edgesam_ros.bags import fixtures, offline, segment_bag
from edgesam_ros.bags.evaluate import score, score_matched
from edgesam_ros.bags.groundtruth import GroundTruth
from edgesam_ros.bags.offline import SegmentOptions, SegmentSummary, segment
from edgesam_ros.bags.typestore import typestore
from edgesam_ros.engine import SamEngine
from edgesam_ros.ros.limits import Limits
from edgesam_ros.scenes import generate_sequence, sequence_preset
from edgesam_ros.tracking import Tracker, UserPrompt

OUTPUTS = ("/edgesam/segmentation", "/edgesam/mask", "/edgesam/overlay")
#: Floors for the trained bundled model on the small fixture. What the bag path owns is that the
#: exact GT box reaches the right frame and pixels (J on the prompted frames, measured 0.56);
#: J&F over the run measures the tracker (measured 0.24 when written: objects are lost after a
#: few frames). Raise both as the model and tracker improve.
MIN_PROMPTED_J = 0.45
MIN_JF = 0.2


def _topic(bag: Path, topic: str) -> list[tuple[int, object]]:
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [
            (t, typestore().deserialize_cdr(raw, c.msgtype))
            for c, t, raw in reader.messages(connections)
        ]


def _stamp(msg: object) -> int:
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


@dataclass(frozen=True)
class Segmented:
    source: Path
    out: Path
    video: Path
    image_topic: str
    summary: SegmentSummary


@pytest.fixture(
    scope="module",
    params=[("sqlite3", fixtures.IMAGE_TOPIC), ("mcap", fixtures.COMPRESSED_TOPIC)],
    ids=["sqlite3-raw", "mcap-compressed"],
)
def segmented(
    request: pytest.FixtureRequest,
    engine: SamEngine,
    bags: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Segmented:
    """One offline run per storage format (and image transport), shared by the checks below."""
    storage, image_topic = request.param
    root = tmp_path_factory.mktemp(storage)
    out, video = root / "out", root / "overlay.mp4"
    options = SegmentOptions(image_topic=image_topic, mp4=video, progress=False)
    summary = segment(engine, bags[storage], out, options)
    return Segmented(bags[storage], out, video, image_topic, summary)


def test_every_frame_is_segmented_next_to_the_inputs(segmented: Segmented) -> None:
    out = segmented.out
    assert (segmented.summary.frames, segmented.summary.interrupted) == (FRAMES, False)
    with Reader(segmented.source) as original, Reader(out) as result:
        counts = {t: i.msgcount for t, i in result.topics.items()}
        assert counts == {**{t: i.msgcount for t, i in original.topics.items()},
                          **dict.fromkeys(OUTPUTS, FRAMES)}
    same_storage = {p.suffix for p in segmented.source.iterdir()} & {".db3", ".mcap"}
    assert {p.suffix for p in out.iterdir()} & {".db3", ".mcap"} == same_storage
    capture = cv2.VideoCapture(str(segmented.video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    capture.release()


def test_results_align_with_the_frames_and_ground_truth_ids(segmented: Segmented) -> None:
    out = segmented.out
    truth = GroundTruth.load(out)  # the ground truth travels with the frames
    prompted = {o["id"] for o in truth.info["objects"] if o["prompt_frame"] is not None}
    segmentations = _topic(out, OUTPUTS[0])
    masks = _topic(out, OUTPUTS[1])
    overlays = _topic(out, OUTPUTS[2])
    images = _topic(out, segmented.image_topic)
    assert [t for t, _ in segmentations] == [t for t, _ in images]  # logged with their image
    assert [_stamp(m) for _, m in masks] == truth.stamps_ns.tolist()
    for (_, seg), (_, mask), (_, overlay) in zip(segmentations, masks, overlays, strict=True):
        assert (seg.height, seg.width) == truth.id_images.shape[1:]
        assert (mask.encoding, overlay.encoding) == ("mono8", "rgb8")
        ids = mask.data.reshape(mask.height, mask.width)
        assert set(np.unique(ids)) - {0} <= prompted  # the fixture's prompts ask for the GT ids
        for obj in seg.objects:
            if obj.area:
                crop = ids[obj.box.y_offset:obj.box.y_offset + obj.box.height,
                           obj.box.x_offset:obj.box.x_offset + obj.box.width]
                assert np.count_nonzero(crop == obj.id) == obj.area


def test_same_masks_as_the_tracker_run_directly_on_the_scenes(
    segmented: Segmented, engine: SamEngine
) -> None:
    """The bag path adds nothing and loses nothing: frame for frame, the id images equal those
    of a `Tracker` fed the rendered frames and the ground-truth boxes (any model)."""
    truth = GroundTruth.load(segmented.out)
    config = dataclasses.replace(sequence_preset(SMALL["preset"]).config, num_frames=FRAMES,
                                 width=SMALL["size"][0], height=SMALL["size"][1])
    tracker = Tracker()
    for t, scene in enumerate(generate_sequence(0, config)):
        for obj in truth.info["objects"]:
            if obj["prompt_frame"] == t:
                tracker.add(UserPrompt(box=obj["prompt_box"], label=obj["shape"],
                                       object_id=obj["id"]))
        direct = tracker.step(engine, scene.image).id_image()
        np.testing.assert_array_equal(segmented.summary.id_images[int(truth.stamps_ns[t])],
                                      direct, err_msg=f"frame {t}")


@pytest.mark.skipif(not TRAINED, reason=f"accuracy needs the trained model: {NO_TRAINED_MODEL}")
def test_accuracy_with_the_trained_model(segmented: Segmented) -> None:
    result = score(GroundTruth.load(segmented.out), segmented.summary.id_images)
    assert result.j_prompted >= MIN_PROMPTED_J, result
    assert result.jf >= MIN_JF, result


def test_ctrl_c_leaves_a_readable_bag_with_the_frames_done(
    engine: SamEngine, bags: dict[str, Path], tmp_path: Path
) -> None:
    """A real SIGINT after 3 frames: the run ends after that frame with a complete bag."""

    def ctrl_c(frames: int) -> None:
        if frames == 3:
            os.kill(os.getpid(), signal.SIGINT)

    out = tmp_path / "out"
    summary = segment(engine, bags["mcap"], out, SegmentOptions(progress=False), ctrl_c)
    assert (summary.frames, summary.interrupted) == (3, True)
    with Reader(bags["mcap"]) as reader:  # the input read up to its 4th image
        kept: dict[str, int] = dict.fromkeys(reader.topics, 0)
        for connection, _, _ in reader.messages():
            if connection.topic == fixtures.IMAGE_TOPIC and kept[fixtures.IMAGE_TOPIC] == 3:
                break
            kept[connection.topic] += 1
    assert kept[fixtures.CAMERA_INFO_TOPIC] == kept[fixtures.DEPTH_TOPIC] == 3
    with Reader(out) as reader:
        counts = {t: i.msgcount for t, i in reader.topics.items()}
    assert counts == {**kept, **dict.fromkeys(OUTPUTS, 3)}  # the last frame keeps its companions
    assert len(_topic(out, OUTPUTS[1])) == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_second_ctrl_c_aborts_without_output(
    engine: SamEngine, bags: dict[str, Path], tmp_path: Path
) -> None:
    def ctrl_c_twice(frames: int) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        segment(engine, bags["mcap"], tmp_path / "out", SegmentOptions(progress=False),
                ctrl_c_twice)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_leaves_the_existing_output_untouched(
    engine: SamEngine, bags: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious").write_text("keep me")

    def crash(frames: int) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        segment(engine, bags["sqlite3"], out, SegmentOptions(overwrite=True, progress=False), crash)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging left behind
    assert (out / "precious").read_text() == "keep me"


def test_command_line_prompts_on_a_bag_without_any(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    encoder, decoder = model_paths()
    plain = tmp_path / "plain"
    truth = fixtures.make_bag(plain, fixtures.FixtureOptions(frames=FRAMES,
                                                             **{**SMALL, "prompts": False}))
    first = next(o for o in truth.info["objects"] if o["prompt_frame"] == 0)
    box = ",".join(str(v) for v in first["prompt_box"])
    argv = [str(plain), str(tmp_path / "out"), "--prompts-topic", "/none", "--box", box]
    common = ["--encoder", str(encoder), "--decoder", str(decoder), "--no-progress"]
    assert segment_bag.main(argv + common) == 2  # /none is not in the bag
    assert "topic /none is not in" in capsys.readouterr().err
    assert segment_bag.main([*argv[:2], "--box", box, "--storage", "mcap", *common]) == 0
    out = capsys.readouterr().out
    assert f"segmented {FRAMES}/{FRAMES} frames" in out, out
    # The box's object has an id of its own: it is scored as the GT object it overlaps, alone.
    assert "vs ground truth (ids matched by overlap): J&F" in out and "over 1 objects" in out, out
    with Reader(tmp_path / "out") as reader:
        assert reader.topics[OUTPUTS[0]].msgcount == FRAMES


def test_options_parse_points_and_boxes() -> None:
    args = segment_bag.parser().parse_args(["a", "b", "--prompt", "3,4", "--box", "1,2,30,40"])
    assert args.prompt[0].points.tolist() == [[3.0, 4.0]]
    assert args.box[0].box.tolist() == [1.0, 2.0, 30.0, 40.0]
    assert isinstance(args.box[0], UserPrompt)
    with pytest.raises(SystemExit):
        segment_bag.parser().parse_args(["a", "b", "--box", "1,2,3"])


def test_auto_mode_lets_the_tracker_start_objects_from_proposals() -> None:
    """--auto sets the session's mode and the tracker's own auto switch, as the node does."""
    for auto, has_prompts, mode in [(True, False, "auto"), (True, True, "both"),
                                    (False, True, "prompt")]:
        settings = offline._settings(SegmentOptions(auto=auto), has_prompts)
        assert (settings.mode, settings.tracker.auto) == (mode, auto)


@pytest.mark.skipif(not TRAINED, reason=f"proposals need the trained model: {NO_TRAINED_MODEL}")
def test_auto_mode_finds_objects_in_a_bag_without_prompts(
    engine: SamEngine, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    truth = fixtures.make_bag(plain, fixtures.FixtureOptions(frames=4,
                                                             **{**SMALL, "prompts": False}))
    summary = segment(engine, plain, tmp_path / "out", SegmentOptions(auto=True, progress=False))
    assert summary.objects
    assert score_matched(truth, summary.id_images).objects >= 1


def test_a_prompt_message_over_the_limit_is_refused_whole_and_reported(
    engine: SamEngine, bags: dict[str, Path], tmp_path: Path
) -> None:
    """As the node does: an ObjectPromptArray over limits.max_prompts starts none of its
    objects and is named in the summary; messages within the limit still apply."""
    sizes = [len(msg.prompts) for _, msg in _topic(bags["sqlite3"], fixtures.PROMPTS_TOPIC)]
    limit = min(sizes)
    assert max(sizes) > limit, f"the fixture needs prompt messages of two sizes: {sizes}"
    options = SegmentOptions(progress=False, limits=Limits(max_prompts=limit))
    summary = segment(engine, bags["sqlite3"], tmp_path / "out", options)
    over = [n for n in sizes if n > limit]
    refused = [r for r in summary.rejected if "limits.max_prompts" in r]
    assert len(refused) == len(over)
    assert refused[0].endswith(f"{over[0]} prompts in one message > limits.max_prompts "
                               f"({limit}): split it")
    assert len(summary.objects) == sum(n for n in sizes if n <= limit)
