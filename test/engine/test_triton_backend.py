"""The engine on a real Triton Inference Server (tools/setup_triton.sh, part of `make test`).

One server per module serves the random-weight tiny model through our Python-backend model
(onnxruntime inside the server), so served results must equal the local engine's exactly.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from conftest import TEST_CONFIG

from edgesam_ros.engine import InferenceError, ModelError, Prompt, SamEngine
from edgesam_ros.engine.triton_backend import TritonBackend
from edgesam_ros.scenes.still import generate_scene
from edgesam_ros.serving.server import free_port, python_backend_server

RANDOM_MODEL = Path(__file__).resolve().parents[2] / ".cache" / "random_tiny"
ENCODER, DECODER = RANDOM_MODEL / "encoder.onnx", RANDOM_MODEL / "decoder.onnx"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = python_backend_server(ENCODER, DECODER, tmp_path_factory.mktemp("triton_repo"),
                                   queue_delay_us=20000)
    server.start()
    yield server
    server.stop()


def triton_config(server, **overrides):
    return replace(TEST_CONFIG, backend="triton", triton_url=server.url, **overrides)


@pytest.fixture(scope="module")
def engines(server):
    return (SamEngine(None, None, triton_config(server)),
            SamEngine(ENCODER, DECODER, TEST_CONFIG))


@pytest.fixture(scope="module")
def scene():
    return generate_scene(5)


def test_served_model_gives_the_local_engines_embeddings_and_masks(engines, scene, server):
    remote, local = engines
    assert remote.info.encoder_provider == f"triton {server.url}"
    assert remote.info.encoder_path == f"Triton server {server.url}, model 'edgesam_encoder'"
    assert replace(remote.info, encoder_path="", decoder_path="", encoder_provider="",
                   decoder_provider="", load_ms=0) == replace(
        local.info, encoder_path="", decoder_path="", encoder_provider="",
        decoder_provider="", load_ms=0)
    remote_embedding, local_embedding = remote.encode(scene.image), local.encode(scene.image)
    np.testing.assert_array_equal(remote_embedding.features, local_embedding.features)
    (x1, y1, x2, y2) = scene.boxes[1]
    prompts = [Prompt.from_box(scene.boxes[0]),
               Prompt.from_points([[(x1 + x2) / 2, (y1 + y2) / 2]]),
               Prompt.from_points([[5, 5], [60, 40]], [1, 0])]
    for got, want in zip(remote.decode(remote_embedding, prompts),
                         local.decode(local_embedding, prompts), strict=True):
        assert got.box == want.box and got.area == want.area
        np.testing.assert_array_equal(got.mask, want.mask)
        np.testing.assert_array_equal(got.low_res_logits, want.low_res_logits)


def test_a_missing_model_stops_start_up_naming_server_model_and_what_is_served(server):
    with pytest.raises(ModelError) as error:
        SamEngine(None, None, triton_config(server, triton_encoder_model="sam_vit_h"))
    assert str(error.value) == (
        f"Triton server {server.url}, model 'sam_vit_h': expected a ready encoder model of that "
        "name; found the server has edgesam_decoder (ready), edgesam_encoder (ready)")


def test_a_model_with_the_wrong_signature_stops_start_up(server):
    with pytest.raises(ModelError) as error:
        SamEngine(None, None, triton_config(server, triton_encoder_model="edgesam_decoder"))
    assert str(error.value).startswith(
        f"Triton server {server.url}, model 'edgesam_decoder': expected an output "
        "image_embeddings [1, C, h, w]; found inputs image_embeddings [1, 128, 32, 32], "
        "point_coords [?, ?, 2]")


def test_no_server_stops_start_up_saying_it_is_unreachable():
    url = f"127.0.0.1:{free_port()}"
    with pytest.raises(ModelError) as error:
        SamEngine(None, None, replace(TEST_CONFIG, backend="triton", triton_url=url))
    assert str(error.value).startswith(
        f"Triton server {url}, model 'edgesam_encoder': expected a reachable server; found "
        "server unavailable (")


def test_a_slow_answer_fails_the_request_after_the_timeout(server, engines):
    backend = TritonBackend(triton_config(server, triton_timeout_s=0.001))
    session, _ = backend.open(None, "encoder")
    image = np.zeros((1, 3, 512, 512), np.float32)
    with pytest.raises(InferenceError) as error:
        session.run(["image_embeddings"], {"image": image})
    assert str(error.value) == (f"Triton server {server.url}, model 'edgesam_encoder': no "
                                "answer within 0.001 s (EngineConfig.triton_timeout_s; the "
                                "node's engine.triton.timeout_s)")


def test_concurrent_frames_are_batched_by_the_server(server, scene):
    """Four cameras' engines encode at once: the dynamic batcher runs them in fewer calls."""
    client = grpcclient.InferenceServerClient(server.url)
    before = client.get_inference_statistics("edgesam_encoder", as_json=True)
    engines = [SamEngine(None, None, triton_config(server)) for _ in range(4)]
    barrier = threading.Barrier(len(engines))

    def camera(engine: SamEngine) -> None:
        for _ in range(3):
            barrier.wait()
            engine.encode(scene.image)

    threads = [threading.Thread(target=camera, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    after = client.get_inference_statistics("edgesam_encoder", as_json=True)

    def counts(stats: dict) -> tuple[int, int]:
        model = stats["model_stats"][0]
        return int(model.get("inference_count", 0)), int(model.get("execution_count", 0))

    inferences = counts(after)[0] - counts(before)[0]
    executions = counts(after)[1] - counts(before)[1]
    assert inferences == 12
    assert executions < inferences, "no request was batched with another"
    sizes = {int(b["batch_size"]) for b in after["model_stats"][0]["batch_stats"]}
    assert max(sizes) > 1


def test_bench_case_counts_every_frame_and_the_batches_that_ran_them(server):
    from argparse import Namespace

    from edgesam_ros.bench.triton_bench import bench_case, table

    args = Namespace(encoder=ENCODER, decoder=DECODER, objects=1, seconds=1.0, threads=1)
    client = grpcclient.InferenceServerClient(server.url)
    result = bench_case("triton", "threads", 2, args, server, client)
    assert result.frames == len(result.latencies_ms) > 0
    # every frame (threads finish the one in flight) was one encoder request, warm-up excluded
    assert sum(size * count for size, count in result.batches.items()) == result.frames
    row = table({(2, "threads", "triton"): result}).splitlines()[2]
    assert row.startswith(f"| 2 | threads | triton | {result.fps:.1f} | ")


def test_missing_server_install_says_how_to_get_one(tmp_path):
    from edgesam_ros.serving.server import find_install

    with pytest.raises(FileNotFoundError) as error:
        find_install(tmp_path / "venv")
    assert str(error.value) == (
        f"no Triton server at {tmp_path / 'venv'}/lib/python3.11/site-packages/pytriton/"
        "tritonserver/bin/tritonserver: run tools/setup_triton.sh (part of `make test`)")
