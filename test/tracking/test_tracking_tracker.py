"""Tracker behaviour on hand-made disc sequences with a ground-truth "segmenter"."""

from __future__ import annotations

import numpy as np
import pytest
from discs import Disc, gt_box, iou, render

from edgesam_ros.tracking import SAM_LIKE, State, Tracker, TrackerConfig, UserPrompt
from edgesam_ros.tracking.config import ABLATIONS
from edgesam_ros.tracking.gating import Candidate, DepthOrder, resolve_overlaps
from edgesam_ros.tracking.oracle import OracleEngine, mask_result

RED, GREEN, BLUE, GREY = (220, 40, 40), (40, 200, 60), (50, 60, 230), (128, 128, 128)


def run(discs, frames, config=None, engine=None, proposals=False, start=None):
    """Track `discs` for `frames` frames, prompting each with its GT box on its first frame."""
    engine = engine or OracleEngine(proposals=proposals)
    tracker = Tracker(config or TrackerConfig())
    ids_of = {}
    history = []
    for t in range(frames):
        ids, rgb = render(discs, t)
        for disc in discs:
            wanted = start is None or disc.id in start
            if disc.id not in ids_of and wanted and (ids == disc.id).any():
                ids_of[disc.id] = tracker.add(UserPrompt(box=gt_box(ids, disc.id)))
        result = tracker.step(engine, rgb, engine.encode(ids))
        history.append((ids, result))
    return tracker, ids_of, history


def by_id(result):
    return {o.id: o for o in result.objects}


def test_ids_stay_stable_through_a_crossing():
    front = Disc(1, (40, 120), (6, 0), 22, 1.0, RED)
    back = Disc(2, (280, 125), (-6, 0), 22, 2.0, BLUE)
    _, ids_of, history = run([front, back], 45)
    for t, (ids, result) in enumerate(history):
        objects = by_id(result)
        for disc in (front, back):
            obj = objects.get(ids_of[disc.id])
            assert obj is not None, f"frame {t}: object {disc.id} vanished"
            if obj.mask is not None:  # never on the other disc
                assert iou(obj.mask, ids, disc.id) > 0.5, f"frame {t}: id {obj.id} jumped"
    last_ids, last = history[-1]
    assert iou(by_id(last)[ids_of[1]].mask, last_ids, 1) > 0.9
    assert iou(by_id(last)[ids_of[2]].mask, last_ids, 2) > 0.9


@pytest.mark.parametrize("proposals", [False, True])
def test_occluded_object_is_recovered_after_it_reappears(proposals):
    target = Disc(1, (60, 120), (3, 0), 18, 2.0, GREEN)
    occluder = Disc(9, (160, 120), (0, 0), 45, 1.0, GREY)  # not tracked, hides the target
    tracker, ids_of, history = run([target, occluder], 70, proposals=proposals, start={1})
    states = [by_id(r)[ids_of[1]].state for _, r in history]
    assert State.LOST in states
    full = np.count_nonzero(history[0][0] == 1)
    hidden = [t for t, (ids, _) in enumerate(history) if not (ids == 1).any()]
    reappeared = next(
        t
        for t, (ids, _) in enumerate(history)
        if t > hidden[-1] and np.count_nonzero(ids == 1) >= full / 2
    )
    recovered = next(
        t
        for t, (ids, r) in enumerate(history)
        if t >= reappeared and iou(by_id(r)[ids_of[1]].mask, ids, 1) > 0.5
    )
    assert recovered - reappeared <= 3
    assert tracker.ids == [ids_of[1]]  # the occluder never became object 1 or a new object
    for ids, result in history:  # no false positive on the occluder meanwhile
        mask = by_id(result)[ids_of[1]].mask
        if mask is not None:
            assert iou(mask, ids, 9) < 0.1


def test_removed_object_never_comes_back():
    a = Disc(1, (80, 120), (1, 0), 20, 1.0, RED)
    b = Disc(2, (220, 120), (-1, 0), 20, 1.0, BLUE)
    engine = OracleEngine()
    tracker = Tracker(TrackerConfig(auto=True))
    ids, rgb = render([a, b], 0)
    first = tracker.add(UserPrompt(box=gt_box(ids, 1)))
    tracker.step(engine, rgb, engine.encode(ids))
    assert tracker.remove(first)
    seen = set()
    for t in range(1, 15):
        ids, rgb = render([a, b], t)
        result = tracker.step(engine, rgb, engine.encode(ids))
        if t == 1:
            assert [o.id for o in result.removed] == [first]
            assert result.removed[0].state is State.REMOVED
        seen |= {o.id for o in result.objects}
    assert first not in seen  # auto mode re-found disc 1 under a NEW id, never the old one
    assert len(seen) == 2


def test_keep_alive_removes_a_lost_object_for_good():
    config = TrackerConfig(lost_after=2, keep_alive=5)
    gone = Disc(1, (100, 100), (0, 0), 20, 1.0, RED, visible=(0, 5))
    back = Disc(1, (100, 100), (0, 0), 20, 1.0, RED, visible=(30, 40))
    _tracker, _ids_of, history = run([gone, back], 40, config)
    removed_at = [t for t, (_, r) in enumerate(history) if r.removed]
    assert removed_at == [5 + 2 + 5]  # 2 misses to become lost, then the keep-alive
    assert all(not r.objects for _, r in history[removed_at[0] :])


def test_refine_prompt_changes_the_next_mask():
    left = Disc(1, (120, 120), (0, 0), 25, 1.0, RED)
    right = Disc(2, (175, 120), (0, 0), 25, 1.0, BLUE)
    engine = OracleEngine(proposals=False)
    tracker = Tracker()
    ids, rgb = render([left, right], 0)
    object_id = tracker.add(UserPrompt(points=[[120, 120]], labels=[1]))
    result = tracker.step(engine, rgb, engine.encode(ids))
    assert iou(result.objects[0].mask, ids, 1) > 0.9
    assert tracker.refine(object_id, points=[[175, 120]], labels=[1])
    result = tracker.step(engine, rgb, engine.encode(ids))
    assert result.objects[0].source.value == "user"
    assert iou(result.objects[0].mask, ids, 2) > 0.9
    assert engine.prompts[0].mask_input is None  # old logits would fight the correction


def test_rejected_prompts_are_reported_once():
    engine = OracleEngine(proposals=False)
    tracker = Tracker()
    ids, rgb = render([Disc(1, (100, 100), (0, 0), 20, 1.0, RED)], 0)
    good = tracker.add(UserPrompt(box=gt_box(ids, 1), object_id=7))
    assert good == 7
    assert tracker.add(UserPrompt(box=[1, 1, 5, 5], object_id=7)) == 0
    assert tracker.add(UserPrompt()) == 0
    assert tracker.add(UserPrompt(points=[[np.nan, 3]], labels=[1])) == 0
    assert tracker.add(UserPrompt(points=[[3, 3]], labels=[0])) == 0
    assert tracker.add(UserPrompt(box=[10, 10, 5, 20])) == 0
    outside = tracker.add(UserPrompt(points=[[1000, 10]], labels=[1]))
    assert outside > 0  # bounds are only known on the frame
    assert not tracker.refine(42, points=[[1, 1]], labels=[1])
    assert not tracker.remove(42)
    result = tracker.step(engine, rgb, engine.encode(ids))
    reasons = [(r.action, r.object_id, r.reason) for r in result.rejected]
    assert len(reasons) == 8, reasons
    assert ("add", 0, "a point lies outside the 320x240 image") in reasons  # a new object: id 0
    assert ("refine", 42, "unknown object id") in reasons
    assert ("remove", 42, "unknown object id") in reasons
    assert [o.id for o in result.objects] == [7]
    assert not tracker.step(engine, rgb, engine.encode(ids)).rejected
    # the rejected object was never shown, so its id was not consumed; shown ids never come back
    assert tracker.add(UserPrompt(box=gt_box(ids, 1))) == outside
    assert tracker.add(UserPrompt(box=gt_box(ids, 1))) not in (0, 7, outside)
    far = tracker.add(UserPrompt(points=[[1000, 10]], labels=[1], object_id=40))
    assert far == 40 and tracker.step(engine, rgb, engine.encode(ids)).rejected[0].object_id == 40
    assert tracker.add(UserPrompt(box=gt_box(ids, 1), object_id=40)) == 40  # may be asked again


def test_contested_pixels_are_never_double_assigned():
    discs = [
        Disc(1, (100, 120), (2, 0), 30, 1.0, RED),
        Disc(2, (158, 120), (-1, 0), 30, 2.0, BLUE),
        Disc(3, (130, 170), (0, -1), 25, 3.0, GREEN),
    ]
    # Every mask bleeds 4 px into its neighbours.
    engine = OracleEngine(proposals=False, boundary_shift=(4, 4))
    _, _, history = run(discs, 12, engine=engine)
    for _, result in history:
        painted = np.count_nonzero(result.id_image())
        assert painted == sum(o.area for o in result.objects)


def test_swallowed_candidate_is_occluded_not_moved():
    order = DepthOrder(TrackerConfig())
    front = np.zeros((50, 50), bool)
    front[10:40, 10:40] = True
    a = Candidate(1, mask_result(front), user=False, confidence=0.9)
    b = Candidate(2, mask_result(front), user=False, confidence=0.2)  # its prompt hit object 1
    kept, occluded = resolve_overlaps([a, b], order, TrackerConfig(), frame=0)
    assert occluded == {2: 1}
    assert kept[1].area == 900


def test_one_decode_call_per_frame_and_mask_input_only_when_supported():
    discs = [Disc(i, (50 + 60 * i, 120), (1, 1), 15, 1.0, RED) for i in range(1, 5)]
    for has_mask_input in (True, False):
        engine = OracleEngine(proposals=False, has_mask_input=has_mask_input)
        run(discs, 4, TrackerConfig(**SAM_LIKE), engine)
        assert engine.decode_calls == 4
        assert len(engine.prompts) == 4
        assert all((p.mask_input is not None) == has_mask_input for p in engine.prompts)
        assert all(p.labels[0] == 1 and p.box is not None for p in engine.prompts)


def test_auto_mode_starts_objects_only_where_nothing_is_tracked():
    discs = [Disc(i, (40 + 50 * i, 60 + 30 * (i % 2)), (0, 0), 18, 1.0, RED) for i in range(1, 6)]
    engine = OracleEngine()
    tracker = Tracker(TrackerConfig(auto=True, max_objects=4))
    ids, rgb = render(discs, 0)
    tracker.add(UserPrompt(box=gt_box(ids, 3)))
    result = tracker.step(engine, rgb, engine.encode(ids))
    assert len(result.objects) == 4
    assert {o.source.value for o in result.objects} == {"user", "proposal"}
    covered = [max(range(1, 6), key=lambda g: iou(o.mask, ids, g)) for o in result.objects]
    assert len(set(covered)) == 4  # no gt disc got two objects
    result = tracker.step(engine, rgb, engine.encode(ids))
    assert len(result.objects) == 4


def test_first_frame_ablation_resends_the_user_prompt():
    config = TrackerConfig().ablation("first-frame")
    assert not config.propagate and not config.reacquire
    assert TrackerConfig().ablation(list(ABLATIONS)[-1]) == TrackerConfig()  # the ladder's top
    # A feature the config switched off stays off on every rung (the bundled model's points).
    assert not TrackerConfig(use_points=False).ablation("+points").use_points
    assert TrackerConfig(use_points=True).ablation("+points").use_points
    engine = OracleEngine(proposals=False)
    run([Disc(1, (60, 120), (5, 0), 15, 1.0, RED)], 3, config, engine)
    assert engine.prompts[0].points.shape == (0, 2)
    with pytest.raises(ValueError):
        TrackerConfig().ablation("nope")


def test_one_frame_objects_are_not_carried_on():
    engine = OracleEngine(proposals=False)
    tracker = Tracker()
    ids, rgb = render([Disc(1, (100, 100), (0, 0), 20, 1.0, RED)], 0)
    tracker.add(UserPrompt(box=gt_box(ids, 1), track=False))
    assert tracker.step(engine, rgb, engine.encode(ids)).objects[0].state is State.NEW
    result = tracker.step(engine, rgb, engine.encode(ids))
    assert not result.objects and not result.removed


def test_object_leaving_the_image_is_found_again_when_it_returns():
    out = Disc(1, (250, 120), (12, 0), 20, 1.0, RED, visible=(0, 100))
    config = TrackerConfig(keep_alive=40)

    def scene_at(t):  # goes out on the right, comes back left-bound from frame 14
        disc = Disc(1, out.at(min(t, 14 - (t - 14) if t > 14 else t)), (0, 0), 20, 1.0, RED)
        return render([disc], 0)

    engine = OracleEngine(proposals=False)
    tracker = Tracker(config)
    ids, rgb = scene_at(0)
    object_id = tracker.add(UserPrompt(box=gt_box(ids, 1)))
    recovered = None
    for t in range(30):
        ids, rgb = scene_at(t)
        result = tracker.step(engine, rgb, engine.encode(ids))
        obj = by_id(result)[object_id]
        if t > 14 and (ids == 1).sum() > 600 and recovered is None and obj.mask is not None:
            recovered = t
            assert iou(obj.mask, ids, 1) > 0.8
    assert recovered is not None


def test_ids_past_16_bits_widen_the_id_image_instead_of_wrapping():
    disc = Disc(1, (100, 120), (2, 0), 30, 1.0, RED)
    ids, rgb = render([disc], 0)
    engine = OracleEngine(proposals=False)
    tracker = Tracker(TrackerConfig())
    assert tracker.add(UserPrompt(box=gt_box(ids, 1), object_id=70_000)) == 70_000
    painted = tracker.step(engine, rgb, engine.encode(ids)).id_image()
    assert painted.dtype == np.int32
    np.testing.assert_array_equal(painted == 70_000, ids == 1)
