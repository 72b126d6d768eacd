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


def _first_with_objects(client: Client, topic: str, frames: int = 5):
    """The first result with objects within a few frames (a prompt applies to its camera's next
    frame)."""
    for _ in range(frames):
        result = client.result_for(frame(), topic=topic)
        if result.objects:
            return result
    raise AssertionError(f"no object on {topic} within {frames} frames")


def test_each_camera_keeps_its_own_objects_ids_and_diagnostics(cameras) -> None:
    cam1, cam2 = cameras["/cam1"], cameras["/cam2"]
    cam1.publisher(type(prompt()), "/cam1/edgesam/prompt").publish(prompt(label="cup"))
    first = _first_with_objects(cam1, "/cam1/image")
    assert [(o.id, o.label) for o in first.objects] == [(1, "cup")]
    other = cam2.result_for(frame(), topic="/cam2/image")
    assert other.objects == []  # the prompt went to cam1 only
    cam2.publisher(type(prompt()), "/cam2/edgesam/prompt").publish(prompt(label="mug"))
    later = _first_with_objects(cam2, "/cam2/image")
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


def test_an_invalid_namespace_is_one_line() -> None:
    out = run_node(program_args=("--namespaces", "/cam1,/cam-2"))
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == ("segment_node: --namespaces /cam-2: namespace must not contain "
                                  "characters other than alphanumerics, '_', or '/'")


def test_core_log_records_are_forwarded_once_per_process() -> None:
    """Several nodes in one process each attach the bridge; a core record reaches /rosout once,
    through the newest node, and again through the older one when the newest detaches."""
    import logging

    from edgesam_ros.ros import log_bridge

    class Logger:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def get_child(self, name: str) -> Logger:
            return self

        def warning(self, text: str) -> None:
            self.lines.append(text)

    first, second = Logger(), Logger()
    handlers = [log_bridge.attach(first), log_bridge.attach(second)]
    try:
        logging.getLogger("edgesam_ros.engine").warning("falling back to CPU")
        assert (first.lines, second.lines) == ([], ["falling back to CPU"])
        log_bridge.detach(handlers.pop())
        logging.getLogger("edgesam_ros.engine").warning("again")
        assert first.lines == ["again"]
    finally:
        for handler in handlers:
            log_bridge.detach(handler)
