"""Frames lost before the node, counted from header stamp gaps (`edgesam_ros.ros.delivery`)."""

from __future__ import annotations

import pytest

from edgesam_ros.ros.delivery import MAX_GAP_PERIODS, StampGaps

PERIOD = 100_000_000  # 10 Hz in ns
T0 = 1_700_000_000 * 10**9


def feed(gaps: StampGaps, frames: list[int], jitter: list[int] | None = None) -> list[int]:
    """Stamps of frame numbers `frames` (with per-frame jitter ns); the loss seen at each."""
    jitter = jitter or [0] * len(frames)
    return [gaps.on_stamp(T0 + f * PERIOD + j) for f, j in zip(frames, jitter, strict=True)]


def test_no_gap_no_loss_and_the_camera_rate_is_estimated():
    gaps = StampGaps()
    assert gaps.values() == {"frames lost before node": "0",
                             "camera rate from stamps (Hz)": "unknown"}
    feed(gaps, list(range(20)))
    assert gaps.values() == {"frames lost before node": "0",
                             "camera rate from stamps (Hz)": "10.0"}


def test_a_gap_of_k_periods_is_k_minus_one_lost_frames():
    gaps = StampGaps()
    seen = feed(gaps, [0, 1, 2, 3, 5, 6, 9, 10, 14])
    assert seen == [0, 0, 0, 0, 1, 0, 2, 0, 3]
    assert gaps.lost == 6


def test_jitter_of_camera_stamps_is_not_loss():
    gaps = StampGaps()
    jitter = [0, 8, -8, 5, -5, 8, -8, 3, 0, -8, 8, 0]
    feed(gaps, list(range(12)), [j * 1_000_000 for j in jitter])  # +-8 ms on 100 ms
    assert gaps.lost == 0
    gaps.on_stamp(T0 + 14 * PERIOD + 20_000_000)  # 2.2 periods after frame 11 (+0 ms): 2 lost
    assert gaps.lost == 2


def test_heavy_loss_still_counts_when_some_consecutive_frames_arrive():
    """Only 1 frame in 4 arrives mostly; the few back-to-back pairs fix the period."""
    frames = [0, 1, 2, 3, 7, 11, 12, 16, 20, 24, 25, 29, 33]
    gaps = StampGaps()
    feed(gaps, frames)
    assert gaps.lost == (frames[-1] - frames[0] + 1) - len(frames) == 21


def test_stamps_going_back_or_a_paused_camera_restart_the_estimate():
    gaps = StampGaps()
    feed(gaps, list(range(10)))
    assert gaps.on_stamp(T0) == 0  # the bag loops: the same stamps again
    assert feed(gaps, list(range(1, 6))) == [0, 0, 0, 0, 0]
    assert gaps.lost == 0
    pause = 5 + MAX_GAP_PERIODS + 50
    assert feed(gaps, [pause, pause + 1, pause + 2, pause + 3]) == [0, 0, 0, 0]
    assert gaps.lost == 0
    assert gaps.on_stamp(T0 + (pause + 5) * PERIOD) == 1  # counting resumed after 3 intervals


@pytest.mark.parametrize("stamp", [0, -5])
def test_frames_without_a_stamp_are_ignored(stamp):
    gaps = StampGaps()
    feed(gaps, [0, 1, 2, 3])
    assert gaps.on_stamp(stamp) == 0
    assert gaps.on_stamp(T0 + 4 * PERIOD) == 0 and gaps.lost == 0


def test_losses_above_five_percent_since_the_last_report_warn():
    gaps = StampGaps()
    feed(gaps, list(range(40)))
    assert gaps.loss_warning() == ""  # none lost
    feed(gaps, [41, 42, 43, 44, 45, 46, 47, 48, 49, 50])  # frame 40 lost: 1 of 11
    assert gaps.loss_warning() == (
        "1 of 11 camera frames lost before the node (header stamp gaps): give the camera "
        "driver and the node a large-image DDS profile (docs/node.md, Large images across "
        "processes)")
    assert gaps.loss_warning() == ""  # reported once
    feed(gaps, list(range(52, 92)))  # frame 51 lost: 1 of 41, under 5 %
    assert gaps.loss_warning() == "" and gaps.lost == 2
