"""Several cameras in one node process (`segment_node --namespaces /cam1,/cam2`): each camera's
node keeps its own frames, prompts, ids, results and diagnostics, as separate processes would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from node_process import NodeProcess, wait_for
from robustness.robust_node import Client, frame, model_args, prompt, run_node

CAMERAS = ("/cam1", "/cam2")


@pytest.fixture(scope="module")
def cameras() -> Iterator[dict[str, Client]]:
    process = NodeProcess(*model_args(), program_args=("--namespaces", ",".join(CAMERAS)))
    for namespace in CAMERAS:
        process.line(f"[{namespace[1:]}.edgesam]: active: segmenting", timeout=60)
    clients = {ns: Client("edgesam", namespace=ns) for ns in CAMERAS}
    yield clients
    for client in clients.values():
        client.close()
    assert process.stop() == 0


def test_each_camera_keeps_its_own_objects_ids_and_diagnostics(cameras) -> None:
    cam1, cam2 = cameras["/cam1"], cameras["/cam2"]
    cam1.publisher(type(prompt()), "/cam1/edgesam/prompt").publish(prompt(label="cup"))
    first = cam1.result_for(frame(), topic="/cam1/image")
    while not first.objects:  # the prompt waits for the next frame of its camera
        first = cam1.result_for(frame(), topic="/cam1/image")
    assert [(o.id, o.label) for o in first.objects] == [(1, "cup")]
    other = cam2.result_for(frame(), topic="/cam2/image")
    assert other.objects == []  # the prompt went to cam1 only
    cam2.publisher(type(prompt()), "/cam2/edgesam/prompt").publish(prompt(label="mug"))
    later = cam2.result_for(frame(), topic="/cam2/image")
    while not later.objects:
        later = cam2.result_for(frame(), topic="/cam2/image")
    assert [(o.id, o.label) for o in later.objects] == [(1, "mug")]  # ids count per camera
    assert [o.label for o in cam1.result_for(frame(), topic="/cam1/image").objects] == ["cup"]
    for client in (cam1, cam2):  # each status named by its camera's node, counting its own
        assert wait_for(lambda c=client: c.counter("prompts received") == 1, 10), client.prefix


@pytest.mark.parametrize(("args", "says"), [
    (("--namespaces", "/cam1,cam1"), "--namespaces /cam1,cam1: give distinct namespaces"),
    (("--namespaces",), "--namespaces needs a comma-separated list"),
])
def test_bad_namespace_lists_are_one_line(args: tuple[str, ...], says: str) -> None:
    out = run_node(program_args=args)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == f"segment_node: {says}, e.g. /cam1,/cam2"
