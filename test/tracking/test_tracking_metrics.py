"""Metrics on hand-made masks whose scores can be worked out on paper."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from discs import Disc, gt_box, render

from edgesam_ros.tracking import TrackerConfig, evaluate
from edgesam_ros.tracking.evaluate import evaluate_sequences, format_table, main
from edgesam_ros.tracking.metrics import (
    Episode,
    SequenceScorer,
    boundary_f,
    boundary_radius,
    jaccard,
)
from edgesam_ros.tracking.oracle import OracleEngine


def square(x0, y0, size, shape=(100, 100)):
    mask = np.zeros(shape, bool)
    mask[y0 : y0 + size, x0 : x0 + size] = True
    return mask


def test_jaccard_and_empty_convention():
    assert jaccard(square(0, 0, 10), square(5, 0, 10)) == pytest.approx(50 / 150)
    assert jaccard(square(0, 0, 0), square(0, 0, 0)) == 1.0
    assert jaccard(square(0, 0, 10), square(0, 0, 0)) == 0.0


def test_boundary_f():
    assert boundary_radius((480, 640), 0.008) == 7  # 0.008 x 800 = 6.4 -> 7
    a = square(20, 20, 30)
    assert boundary_f(a, a, 1) == 1.0
    assert boundary_f(a, square(21, 20, 30), 1) == 1.0  # shifted within the tolerance
    assert boundary_f(a, square(25, 20, 30), 1) < 0.6  # vertical edges 5 px off
    assert boundary_f(a, square(0, 0, 0), 1) == 0.0
    assert boundary_f(square(0, 0, 0), square(0, 0, 0), 1) == 1.0


def ids_image(*objects, shape=(100, 100)):
    out = np.zeros(shape, np.uint16)
    for value, mask in objects:
        out[mask] = value
    return out


def test_scorer_counts_switches_recovery_and_false_positives():
    scorer = SequenceScorer(tolerance=0.01)
    a, b = square(10, 10, 20), square(60, 60, 20)
    scorer.prompt(1, 5)
    scorer.prompt(2, 6)
    frames = [
        (ids_image((1, a), (2, b)), ids_image((5, a), (6, b))),  # perfect
        (ids_image((1, a), (2, b)), ids_image((6, a), (5, b))),  # ids swapped: 2 switches
        (ids_image((1, a), (2, b)), ids_image((5, a), (6, b))),  # swapped back: 2 more
        (ids_image((2, b)), ids_image((5, a), (6, b))),  # GT 1 hidden, mask 5 stays: FP
        (ids_image((2, b)), ids_image((6, b))),  # GT 1 hidden, nothing predicted: fine
        (ids_image((1, a), (2, b)), ids_image((6, b))),  # back, not recovered yet
        (ids_image((1, a), (2, b)), ids_image((6, b))),
        (ids_image((1, a), (2, b)), ids_image((5, a), (6, b))),  # recovered: 2 frames later
    ]
    for gt, pred in frames:
        scorer.add(gt, pred, frame_ms=1.0)
    one, two = scorer.results()[1], scorer.results()[2]
    assert one.id_switches == 2 and two.id_switches == 2
    assert one.invisible_frames == 2 and one.false_positive_frames == 1
    assert one.recovery_frames == [2] and one.unrecovered == 0
    assert one.episodes == [Episode(length=2, recovery=2)]  # hidden 2 frames, back 2 later
    j_one = [1, 0, 1, 0, 1, 0, 0, 1]  # DAVIS: J = 1 on frame 4 (both empty), 0 on frame 3
    assert one.j == pytest.approx(np.mean(j_one))
    assert one.recall == pytest.approx(np.mean(np.array(j_one) > 0.5))
    assert one.decay == pytest.approx(np.mean(j_one[:2]) - np.mean(j_one[-2:]))
    assert two.j == pytest.approx(7 / 8) and two.recovery_frames == []
    assert one.jf == pytest.approx((one.j + one.f) / 2)


def test_unrecovered_episode_and_prompt_frame_skipped():
    scorer = SequenceScorer()
    a = square(10, 10, 20)
    scorer.prompt(1, 3)
    scorer.add(ids_image((1, a)), ids_image(), skip=frozenset({1}))  # prompt frame: not scored
    scorer.add(ids_image((1, a)), ids_image((3, a)))
    scorer.add(ids_image(), ids_image())
    scorer.add(ids_image((1, a)), ids_image())
    result = scorer.results()[1]
    assert result.frames == 3 and result.unrecovered == 1 and result.recovery_frames == []
    assert result.episodes == [Episode(length=1, recovery=None)]
    assert math.isclose(result.j, 2 / 3)


def test_evaluate_runs_the_ablation_ladder_with_one_encode_per_frame():
    discs = [
        Disc(1, (60, 120), (4, 0), 20, 1.0, (200, 40, 40)),
        Disc(2, (250, 120), (-4, 0), 20, 2.0, (40, 40, 200), visible=(3, 100)),
    ]

    def scene(t):
        ids, rgb = render(discs, t)
        present = [i for i in (1, 2) if (ids == i).any()]
        boxes = np.array([gt_box(ids, i) if i in present else np.zeros(4) for i in (1, 2)])
        return SimpleNamespace(
            image=rgb,
            ids=np.array([1, 2]),
            boxes=boxes,
            instance_masks=np.stack([ids == 1, ids == 2]),
            id_image=lambda: ids,
        )

    engine = OracleEngine(proposals=False)
    encodes = []
    original = engine.encode
    engine.encode = lambda image: encodes.append(1) or original(image)
    rows = evaluate_sequences({"oracle": engine}, [[scene(t) for t in range(20)]])
    assert len(encodes) == 20
    assert [r.name for r in rows] == [
        "first-frame",
        "box",
        "+points",
        "+mask-input",
        "+motion",
        "+reacquire",
        "+appearance",
    ]
    full = rows[-1]
    assert full.objects == 2 and full.j > 0.9 and full.id_switches == 0
    assert rows[0].j < full.j  # a static first-frame prompt loses moving objects
    assert "| oracle | +appearance | 2 |" in format_table(rows)
    assert full.short_occlusions == 0 and math.isnan(full.quick_recovered)
    # Objects are prompted once they show `prompt_area` pixels: these discs never do.
    unseen = evaluate_sequences(
        {"oracle": engine}, [[scene(t) for t in range(3)]], ["box"], prompt_area=10**6
    )
    assert unseen[0].objects == 0


def test_eval_tracking_command_runs_with_the_oracle_alone(capsys):
    assert main(["--oracle", "--preset", "tiny", "--sequences", "1", "--ablation", "full"]) == 0
    out = capsys.readouterr().out
    assert "| oracle | +appearance |" in out and "model" not in out


def test_eval_tracking_settings_reach_the_tracker_and_typos_are_refused(capsys, monkeypatch):
    seen = []
    real = evaluate.evaluate_sequences
    monkeypatch.setattr(
        evaluate, "evaluate_sequences", lambda *a, **k: seen.append(a[3]) or real(*a, **k)
    )
    argv = ["--oracle", "--preset", "tiny", "--sequences", "1", "--ablation", "full"]
    assert main([*argv, "--set", "box_margin=0.15", "--set", "use_points=true"]) == 0
    assert seen[0] == TrackerConfig(box_margin=0.15, use_points=True)
    assert "box_margin=0.15, use_points=True" in capsys.readouterr().out
    for bad in ("box_margn=0.1", "use_points=yes", "lost_after=2.5", "box_margin"):
        with pytest.raises(SystemExit):
            main([*argv, "--set", bad])
        assert "--set" in capsys.readouterr().err
