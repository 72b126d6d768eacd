"""A prompt's mask does not depend on the other prompts decoded in the same call.

Checked on the bundled model, a real EdgeSAM decoder: unlike the fake decoders of
`onnx_fixtures.py`, its label -1 ("not a point") tokens take part in attention, so padding one
prompt to another's length would change its mask (the first test shows it does).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from edgesam_ros.engine import Prompt, SamEngine
from edgesam_ros.engine.prompts import decoder_batches
from edgesam_ros.scenes.config import SceneConfig
from edgesam_ros.scenes.still import generate_scene

SHAPE = (240, 320)


@pytest.fixture(scope="module")
def embedding(bundled_engine):
    scene = generate_scene(3, SceneConfig(height=SHAPE[0], width=SHAPE[1]))
    return bundled_engine.encode(scene.image)


@pytest.fixture(scope="module")
def prompts(bundled_engine, embedding) -> dict[str, Prompt]:
    """Every token layout the engine can meet, with and without a mask input."""
    (previous,) = bundled_engine.decode(embedding, [Prompt.from_box([60, 40, 200, 180])])
    logits = previous.low_res_logits
    box = np.array([60, 40, 200, 180], np.float32)
    two = Prompt(points=np.array([[120, 100], [30, 200]], np.float32),
                 labels=np.array([1, 0], np.int32))
    return {
        "point": Prompt.from_points([[120, 100]]),
        "box": Prompt.from_box(box),
        "box+point": Prompt(points=np.array([[120, 100]], np.float32),
                            labels=np.array([1], np.int32), box=box),
        "two points": two,
        "three points": Prompt.from_points([[120, 100], [150, 90], [280, 20]], [1, 1, 0]),
        "box+two points": replace(two, box=box),
        "point+mask": replace(Prompt.from_points([[120, 100]]), mask_input=logits),
        "box+mask": replace(Prompt.from_box(box), mask_input=logits),
        "two points+mask": replace(two, mask_input=logits),
    }


def _logits(engine: SamEngine, embedding, prompts: list[Prompt]) -> list[np.ndarray]:
    return [r.low_res_logits for r in engine.decode(embedding, prompts)]


def test_padding_tokens_do_change_this_decoders_masks(bundled_engine, embedding, prompts):
    """The property the other tests rely on: a batch padded with -1 tokens would differ."""
    engine = bundled_engine
    ((coords, labels),) = [(b.coords, b.labels) for b in decoder_batches(
        [prompts["box"]], engine._prompt_frame, SHAPE, True, 1)]
    feed = {"image_embeddings": embedding.features,
            "mask_input": np.zeros((1, 1, *engine.info.low_res_size), np.float32),
            "has_mask_input": np.zeros(1, np.float32)}
    alone = engine._decoder.run(["masks"], {**feed, "point_coords": coords,
                                            "point_labels": labels})[0]
    padded = engine._decoder.run(["masks"], {
        **feed,
        "point_coords": np.concatenate([coords, np.zeros((1, 2, 2), np.float32)], axis=1),
        "point_labels": np.concatenate([labels, -np.ones((1, 2), np.float32)], axis=1),
    })[0]
    assert np.abs(alone - padded).max() > 1.0  # 29 logits on this scene


def test_every_mixed_batch_equals_each_prompt_alone(bundled_engine, embedding, prompts):
    names = list(prompts)
    alone = {name: _logits(bundled_engine, embedding, [prompts[name]])[0] for name in names}
    batches = [names, names[::-1], *itertools.combinations(names, 2)]
    for batch in batches:
        together = _logits(bundled_engine, embedding, [prompts[n] for n in batch])
        for name, logits in zip(batch, together, strict=True):
            np.testing.assert_allclose(logits, alone[name], atol=2e-4, err_msg=f"{name} in {batch}")


def test_batched_and_looped_decoding_agree(bundled_engine, embedding, prompts):
    """Chunked batches (max_decoder_batch=2) and one call per prompt give the same masks."""
    chunked = SamEngine.bundled(replace(bundled_engine.config, max_decoder_batch=2))
    order = list(prompts.values())
    looped = [bundled_engine.decode(embedding, [p])[0] for p in order]
    together = chunked.decode(embedding, order)
    # Tokens: 4 prompts of 2 (2 calls of 2), 3 of 3 (2 calls), 2 of 4 (1 call).
    assert chunked.timings.decoder_calls == 5
    for a, b in zip(together, looped, strict=True):
        np.testing.assert_allclose(a.low_res_logits, b.low_res_logits, atol=2e-4)
        assert a.stability == pytest.approx(b.stability, abs=1e-3)
        assert abs(a.area - b.area) <= 2
