"""Partial views, re-acquisition and identity: each test pins a fix found on the benchmark."""

from __future__ import annotations

import numpy as np
from discs import Disc, gt_box, iou, render

from edgesam_ros.engine.types import Proposals
from edgesam_ros.tracking import SAM_LIKE, State, Tracker, TrackerConfig, UserPrompt
from edgesam_ros.tracking.gating import appearance_histogram, appearance_similarity
from edgesam_ros.tracking.objects import Track
from edgesam_ros.tracking.oracle import OracleEngine, mask_result
from edgesam_ros.tracking.prompts import expand_box, reacquire_prompts, side_margins

RED, BLUE, GREY = (200, 50, 40), (50, 60, 230), (128, 128, 128)


def follow(frames, config=None, engine=None, start=(1,)):
    """Track the discs of `frames` (one list of discs per frame), prompting `start` on frame 0;
    the oracle stops its masks at the prompt box, so by default with SAM-like prompts."""
    engine = engine or OracleEngine(proposals=False)
    tracker = Tracker(config or TrackerConfig(**SAM_LIKE))
    ids, _ = render(frames[0], 0)
    object_ids = {i: tracker.add(UserPrompt(box=gt_box(ids, i))) for i in start}
    history = []
    for discs in frames:
        ids, rgb = render(discs, 0)
        result = tracker.step(engine, rgb, engine.encode(ids))
        history.append((ids, {o.id: o for o in result.objects}, result))
    return object_ids, history


def at(x, y, disc_id=1, color=RED, radius=20, depth=2.0):
    return Disc(disc_id, (x, y), (0, 0), radius, depth, color)


PILLAR = Disc(9, (160, 120), (0, 0), 45, 1.0, GREY)  # untracked, in front of everything


def test_appearance_ignores_brightness_but_not_hue():
    config = TrackerConfig()
    mask = np.zeros((60, 60), bool)
    mask[10:50, 10:50] = True
    result = mask_result(mask)
    image = np.zeros((60, 60, 3), np.uint8)
    image[..., :] = RED
    darker = (image * 0.7).astype(np.uint8)  # exposure drift / shade
    other = np.zeros_like(image)
    other[..., :] = BLUE
    reference = appearance_histogram(image, result, config)
    assert appearance_similarity(reference, appearance_histogram(darker, result, config)) > 0.9
    assert appearance_similarity(reference, appearance_histogram(other, result, config)) < 0.1


def test_partial_view_is_kept_while_sliding_behind_an_occluder():
    # x = 80 ... 140: the pillar (x >= 115) hides more and more of the disc (r = 20).
    frames = [[at(80 + 4 * t, 120), PILLAR] for t in range(16)]
    object_ids, history = follow(frames)
    partial = [
        (ids, objects[object_ids[1]])
        for ids, objects, _ in history
        if 0 < np.count_nonzero(ids == 1) < 0.35 * np.pi * 20**2
    ]
    assert partial, "the sequence must contain strongly occluded frames"
    assert all(iou(obj.mask, ids, 1) > 0.9 for ids, obj in partial)
    # Without appearance there is no telling a sliver of the object from a stray blob: a miss.
    _, blind = follow(frames, TrackerConfig(**SAM_LIKE, use_appearance=False))
    assert any(objects[object_ids[1]].mask is None for _, objects, _ in blind)


def test_object_that_turns_while_hidden_is_found_where_it_was_last_seen():
    # In behind the pillar moving right, it turns back there and comes out on the left again.
    xs = [60 + 8 * t for t in range(16)] + [180 - 8 * t for t in range(16)]
    frames = [[at(x, 120), PILLAR] for x in xs]
    object_ids, history = follow(frames, engine=OracleEngine())
    hidden = [t for t, (ids, _, _) in enumerate(history) if not (ids == 1).any()]
    back = next(
        t for t, (ids, _, _) in enumerate(history) if t > hidden[-1] and (ids == 1).sum() > 600
    )
    found = next(
        t
        for t, (ids, objects, _) in enumerate(history)
        if t >= back and iou(objects[object_ids[1]].mask, ids, 1) > 0.5
    )
    assert found - back <= 2


def test_a_lost_object_never_takes_a_followed_lookalike():
    # Twins: 1 hides behind the pillar for good; 2, same colour, passes right by it.
    frames = [
        [at(150 if t > 3 else 100 + 12 * t, 120), at(40 + 10 * t, 60, 2), PILLAR] for t in range(25)
    ]
    object_ids, history = follow(frames, start=(1, 2))  # no proposals: tiles find the twin
    for ids, objects, _ in history:
        mine = objects.get(object_ids[1])
        assert mine is None or mine.mask is None or iou(mine.mask, ids, 2) < 0.1
        assert iou(objects[object_ids[2]].mask, ids, 2) > 0.9


def test_object_that_left_the_image_is_kept_longer_than_one_hidden():
    config = TrackerConfig(lost_after=2, keep_alive=5, keep_alive_outside=20)
    away = [[at(280 + 15 * t, 120)] for t in range(6)] + [[]] * 10 + [[at(290, 120)]] * 4
    object_ids, history = follow(away, config)
    assert iou(history[-1][1][object_ids[1]].mask, history[-1][0], 1) > 0.9
    hidden = [[at(160, 120, depth=2.0), PILLAR]] * 20
    _, history = follow([[at(100, 120)], *hidden], config)
    assert any(r.removed for _, _, r in history)


def test_fast_object_is_followed_before_its_velocity_is_known():
    # 30 px per frame, 30 px across: the first prediction (no velocity yet) misses it entirely.
    frames = [[at(40 + 30 * t, 120, radius=15)] for t in range(8)]
    object_ids, history = follow(frames)
    for ids, objects, _ in history:
        obj = objects[object_ids[1]]
        assert obj.state in (State.NEW, State.TRACKED) and iou(obj.mask, ids, 1) > 0.9


def test_search_skips_proposals_of_followed_objects():
    # Three neighbours' proposals lie nearer than the lost object's own: they are followed on
    # this frame, so they must not use up the search's decoder slots.
    track = Track(id=1, label="", track=True, first_prompt=UserPrompt(box=[0, 0, 1, 1]), born=0)
    track.predicted = np.array([100, 100, 140, 140], np.float64)
    track.core_box = track.predicted.astype(np.float32)
    track.extent = np.array([40.0, 40.0])
    neighbours = np.array([[150, 100, 190, 140], [100, 150, 140, 190], [50, 100, 90, 140]])
    own = np.array([[165, 165, 205, 205]])
    proposals = Proposals(
        np.concatenate([neighbours, own]).astype(np.float32), np.full(4, 0.9, np.float32)
    )
    config = TrackerConfig(max_reacquire_candidates=2)
    boxes = [p.box for p in reacquire_prompts(track, proposals, neighbours, config, (480, 640))]
    assert len(boxes) == 2 and np.array_equal(boxes[1], own[0])
    unaware = reacquire_prompts(track, proposals, np.zeros((0, 4)), config, (480, 640))
    assert not any(np.array_equal(p.box, own[0]) for p in unaware)



def test_only_the_sides_a_mask_reached_get_the_edge_margin():
    config = TrackerConfig(box_margin=0.03, edge_margin=0.15)
    mask = np.zeros((240, 320), bool)
    mask[100:140, 100:160] = True  # reaches x2 = 160 of its prompt box, stops short elsewhere
    track = Track(id=1, label="", track=True, first_prompt=UserPrompt(box=gt_box(mask, True)),
                  born=0, mask=mask_result(mask))
    assert np.allclose(side_margins(track, config), 0.03)  # no prompt box: found or user's
    track.prompt_box = np.array([90.0, 90.0, 160.0, 150.0])
    assert np.allclose(side_margins(track, config), [0.03, 0.03, 0.15, 0.03])
    box = expand_box(np.array([100.0, 100.0, 160.0, 140.0]), side_margins(track, config), 0.0)
    assert np.allclose(box, [98.2, 98.8, 169.0, 141.2])


def test_an_unsettled_box_grows_only_with_a_point_that_says_which_object_it_means():
    # Born half hidden by the pillar. Until its velocity is known, a prompt with points grows
    # the disc's box to three box sizes (the core point picks the disc); without points the
    # box stays at the prediction, since the pillar fills a grown box better than the disc.
    frames = [[at(125 - 2 * t, 120), PILLAR] for t in range(8)]
    for config in (TrackerConfig(), TrackerConfig(**SAM_LIKE)):
        object_ids, history = follow(frames, config)
        assert all(objects[object_ids[1]].status == "" for _, objects, _ in history), config
        assert all(iou(objects[object_ids[1]].mask, ids, 1) > 0.95 for ids, objects, _ in history)


def test_first_mask_colours_still_vouch_for_an_object_after_its_histogram_drifted():
    config = TrackerConfig()
    mask = np.zeros((60, 60), bool)
    mask[10:50, 10:50] = True
    result = mask_result(mask)
    red, blue = np.zeros((60, 60, 3), np.uint8), np.zeros((60, 60, 3), np.uint8)
    red[...] = RED
    blue[...] = BLUE
    track = Track(id=1, label="", track=True, first_prompt=UserPrompt(box=gt_box(mask, True)),
                  born=0, mask=result)
    # Leaky masks took in the (blue) background until the running histogram looked blue.
    track.histogram = appearance_histogram(blue, result, config)
    track.first_histogram = appearance_histogram(red, result, config)
    tracker = Tracker(config)
    assert tracker._appearance(track, result, red)[0] == ""
    problem, similarity, _ = tracker._appearance(track, result, np.full_like(red, GREY))
    assert problem.startswith("appearance") and similarity == 0.0
