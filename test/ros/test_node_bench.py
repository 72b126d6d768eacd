"""The node benchmark (`edgesam-ros bench node`) runs and measures what issue 7 asks for.

A smoke test on the random tiny model: serial latency, and a flood at twice the node's rate that
the node survives by dropping frames (counted), not by queueing them (latency growth).
The numbers of the bundled model are in docs/node.md ("Benchmark").
"""

from __future__ import annotations

import pytest
from conftest import random_model_parameters

from edgesam_ros.engine import EngineConfig, SamEngine
from edgesam_ros.scenes.still import generate_scene

pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")
pytestmark = pytest.mark.ros


def test_node_bench_measures_latency_and_drops_frames_in_a_flood(ros_context):
    from edgesam_ros.bench import node_bench

    parameters = random_model_parameters(**{"outputs.overlay": False})
    engine = SamEngine(parameters["model.encoder"], parameters["model.decoder"],
                       EngineConfig(providers=("cpu",), intra_op_threads=1))
    rig = node_bench.Rig(parameters)
    try:
        image = generate_scene(0).image
        boxes = node_bench.object_boxes(image.shape[:2], 4)
        row = node_bench.node_case(rig, engine, image, boxes, frames=6, stamp=1)
    finally:
        rig.close()
    assert 0 < row["core"] < 2000  # the core's own step, measured between the node's frames
    assert 0 < row["latency"] <= row["p95"] < 2000
    assert row["throughput"] > 0
    assert row["dropped"] > 0, row  # the flood is faster than the node: frames are dropped ...
    assert row["growth"] < 3.0, row  # ... and latency does not pile up
