"""The ground-truth oracle answers prompts the way a perfect SAM would."""

from __future__ import annotations

import numpy as np

from edgesam_ros.engine.types import Prompt
from edgesam_ros.tracking.oracle import OracleEngine


def scene():
    """A big object 1 partly behind a small object 2 in front of it."""
    ids = np.zeros((100, 120), np.uint16)
    ids[20:80, 10:90] = 1
    ids[40:70, 60:80] = 2
    return ids


def decode(engine, ids, **prompt):
    prompt.setdefault("points", np.zeros((0, 2), np.float32))
    prompt.setdefault("labels", np.zeros(0, np.int32))
    for key in ("points", "box"):
        if prompt.get(key) is not None:
            prompt[key] = np.asarray(prompt[key], np.float32)
    prompt["labels"] = np.asarray(prompt["labels"], np.int32)
    return engine.decode(engine.encode(ids), [Prompt(**prompt)])[0]


def test_tight_box_gets_its_own_object_even_inside_a_bigger_one():
    ids = scene()
    engine = OracleEngine()
    small = decode(engine, ids, box=[60, 40, 80, 70])
    assert small.box == (60, 40, 80, 70) and small.area == 600
    big = decode(engine, ids, box=[10, 20, 90, 80])
    assert big.area == 60 * 80 - 600


def test_points_choose_and_exclude_and_the_box_restricts():
    ids = scene()
    engine = OracleEngine()
    assert decode(engine, ids, points=[[70, 50]], labels=[1]).area == 600
    excluded = decode(engine, ids, points=[[70, 50], [70, 50]], labels=[1, 0], box=[0, 0, 120, 100])
    assert excluded.area == 60 * 80 - 600  # object 2 excluded: the box's best fill is object 1
    cut = decode(engine, ids, points=[[20, 30]], labels=[1], box=[0, 0, 40, 100])
    assert cut.box == (10, 20, 40, 80)  # SAM does not segment beyond the box it was given
    assert decode(engine, ids, points=[[5, 5]], labels=[1]).area == 0  # background, no box


def test_proposals_and_boundary_shift():
    ids = scene()
    embedding = OracleEngine().encode(ids)
    assert {tuple(b) for b in embedding.proposals.boxes.tolist()} == {
        (10, 20, 90, 80),
        (60, 40, 80, 70),
    }
    assert OracleEngine(proposals=False).encode(ids).proposals is None
    grown = decode(OracleEngine(boundary_shift=(2, 2)), ids, points=[[70, 50]], labels=[1])
    assert grown.box == (58, 38, 82, 72)
