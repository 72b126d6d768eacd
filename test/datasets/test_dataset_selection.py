"""Frame selection: every Nth, scene change, time-block split, frames without objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic import PERIOD_NS, START_NS, stamp

from edgesam_ros.datasets import selection
from edgesam_ros.datasets.coco import annotation_path
from edgesam_ros.datasets.export import ExportOptions, export
from edgesam_ros.datasets.selection import Selection


def frames_written(out: Path, split: str = "train") -> list[int]:
    return sorted((int(p.stem) - START_NS) // PERIOD_NS for p in (out / split).glob("*.png"))


@pytest.mark.parametrize(
    ("fraction", "blocks", "val"),
    [(0.2, 10, [4, 9]), (0.5, 4, [1, 3]), (0.25, 10, [3, 7]), (0.1, 10, [9]), (0.0, 10, [])],
)
def test_validation_blocks_are_spread_over_the_recording(
    fraction: float, blocks: int, val: list[int]
) -> None:
    assert [k for k in range(blocks) if selection.is_val_block(k, fraction)] == val


def test_split_is_by_equal_time_blocks_of_the_span() -> None:
    stamps = [stamp(t) for t in range(1, 12)]
    split = selection.splits(stamps, Selection(val_fraction=0.2, blocks=10))
    assert [t for t, s in zip(range(1, 12), stamps, strict=True) if split[s] == "val"] == [
        5, 10, 11]
    assert selection.splits([stamp(3)], Selection()) == {stamp(3): "train"}
    assert selection.splits([], Selection()) == {}


def test_candidates_skip_frames_without_objects_then_take_every_nth() -> None:
    counts = {stamp(t): n for t, n in enumerate([0, 2, 2, 0, 1, 3, 1])}
    assert selection.candidates(counts, Selection(every=2)) == [stamp(t) for t in (1, 4, 6)]
    assert selection.candidates(counts, Selection(keep_empty=True, every=3)) == [
        stamp(t) for t in (0, 3, 6)]


def test_change_is_the_mean_grey_difference_of_thumbnails() -> None:
    dark, light = np.full((48, 128, 3), 10, np.uint8), np.full((48, 128, 3), 30, np.uint8)
    assert selection.thumbnail(dark).shape == (24, selection.THUMB_WIDTH)
    assert selection.change(selection.thumbnail(dark), selection.thumbnail(light)) == 20.0
    noisy = dark.copy()
    noisy[::2, ::2] = 14  # a quarter of the pixels 4 levels brighter: 1 level on average
    assert selection.change(selection.thumbnail(dark), selection.thumbnail(noisy)) == 1.0
    keep = selection.ChangeFilter(5.0)
    assert [keep.keep(im) for im in (dark, noisy, light, light, dark)] == [
        True, False, True, False, True]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"every": 0}, "every must be at least 1, got 0"),
        ({"val_fraction": 1.0}, "val_fraction must be in [0, 1), got 1.0"),
        ({"min_change": -1}, "min_change is in grey levels, 0 to 255; got -1"),
        ({"blocks": 0}, "blocks must be at least 1, got 0"),
        ({"val_fraction": 0.05, "blocks": 10},
         "val_fraction 0.05 of 10 blocks is no whole block: raise --blocks or --val-fraction"),
    ],
)
def test_bad_selections_say_what_is_wrong(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        Selection(**arguments)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("chosen", "train"),
    [
        (Selection(val_fraction=0, every=2), [1, 3, 5, 7, 9, 11]),
        # Frames 8-11 are identical: only 8 of them differs enough from the one before.
        (Selection(val_fraction=0, min_change=5.0), [1, 2, 3, 4, 5, 6, 7, 8]),
        (Selection(val_fraction=0, keep_empty=True), list(range(12))),
    ],
    ids=["every-2", "min-change", "keep-empty"],
)
def test_exported_frames_follow_the_selection(
    segmented_bag: Path, tmp_path: Path, chosen: Selection, train: list[int]
) -> None:
    summary = export(segmented_bag, tmp_path / "out",
                     ExportOptions(selection=chosen, progress=False))
    assert frames_written(tmp_path / "out") == train
    assert not annotation_path(tmp_path / "out", "val").exists()
    assert summary.unchanged == (3 if chosen.min_change else 0)
