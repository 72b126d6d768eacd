"""Family detection from the files, and a clear ModelError for every kind of bad file."""

from __future__ import annotations

import numpy as np
import onnx_fixtures
import pytest

from edgesam_ros.engine import EngineConfig, ModelError, SamEngine, bundled_model_paths

CONFIG = EngineConfig(providers=("cpu",), intra_op_threads=1, warmup=False)


@pytest.mark.parametrize(
    ("preset", "family", "image_size", "frame", "batched", "mask_input"),
    [
        ("edgesam_official", "edgesam", 1024, 1024, False, False),
        ("edgesam_ros", "edgesam", 256, 256, True, True),
        ("sam", "sam", 1024, 1024, False, True),
        ("sam_single_mask", "sam", 1024, 1024, False, True),
        ("mobilesam", "mobilesam", 1024, 1024, False, True),
        ("efficientvit_l", "efficientvit", 512, 1024, True, False),
        ("efficientvit_xl", "efficientvit", 1024, 1024, True, False),
    ],
)
def test_family_signature_is_detected(
    engine_for, preset, family, image_size, frame, batched, mask_input
):
    info = engine_for(preset).info
    assert info.family == family
    assert (info.image_size, info.prompt_frame) == (image_size, frame)
    assert (info.batched, info.has_mask_input, info.has_proposals) == (batched, mask_input, False)
    embedding = onnx_fixtures.PRESETS[preset][1].embedding
    assert info.embedding_shape == embedding
    assert info.low_res_size == (4 * embedding[1], 4 * embedding[2])


def test_sizes_come_from_the_files_not_from_1024(model_pair):
    encoder, decoder = model_pair(
        "edgesam_ros",
        encoder={"image_size": 128, "channels": 4, "metadata": {}},
        decoder={"prompt_frame": 128, "embedding": (4, 8, 8), "metadata": {}},
    )
    info = SamEngine(encoder, decoder, CONFIG).info
    assert (info.image_size, info.prompt_frame, info.embedding_shape) == (128, 128, (4, 8, 8))
    assert info.low_res_size == (32, 32)


def test_metadata_prompt_frame_overrides_the_default(model_pair):
    meta = {"edgesam_ros.prompt_frame": "1024", "edgesam_ros.image_size": "256"}
    encoder, decoder = model_pair("edgesam_ros", decoder={"metadata": meta})
    assert SamEngine(encoder, decoder, CONFIG).info.prompt_frame == 1024


def test_forced_family_must_match_the_files(model_pair):
    encoder, decoder = model_pair("edgesam_official")
    with pytest.raises(ModelError, match="EfficientViT-SAM"):
        SamEngine(encoder, decoder, EngineConfig(providers=("cpu",), family="efficientvit",
                                                 warmup=False))


def _error(encoder, decoder) -> ModelError:
    with pytest.raises(ModelError) as caught:
        SamEngine(encoder, decoder, CONFIG)
    return caught.value


def test_missing_file(model_pair, tmp_path):
    _, decoder = model_pair("edgesam_ros")
    error = _error(tmp_path / "nope.onnx", decoder)
    assert error.path.endswith("nope.onnx") and error.found == "no such file"
    assert "nope.onnx: expected an ONNX model file; found no such file" in str(error)


def test_not_onnx(model_pair, tmp_path):
    encoder, _ = model_pair("edgesam_ros")
    junk = tmp_path / "decoder.onnx"
    junk.write_bytes(b"\x89PNG not a model at all")
    error = _error(encoder, junk)
    assert error.path == str(junk) and "cannot load" in error.found


def test_wrong_encoder_input_name(model_pair):
    encoder, decoder = model_pair("edgesam_ros", encoder={"input_name": "pixels"})
    error = _error(encoder, decoder)
    assert error.path == str(encoder)
    assert "image [B, 3, S, S]" in error.expected and "pixels [1, 3, 256, 256]" in error.found


def test_wrong_encoder_output_name(model_pair):
    encoder, decoder = model_pair("edgesam_ros", encoder={"output_name": "features"})
    error = _error(encoder, decoder)
    assert error.path == str(encoder) and "image_embeddings" in error.expected
    assert "features" in error.found


def test_unknown_decoder_interface_lists_every_family(model_pair):
    encoder, decoder = model_pair("edgesam_official", decoder={"extra_input": "prompt_mode"})
    error = _error(encoder, decoder)
    assert error.path == str(decoder)
    for title in ("EdgeSAM", "SAM ONNX", "MobileSAM", "EfficientViT-SAM"):
        assert title in error.expected
    assert "prompt_mode [1]" in error.found


def test_decoder_not_matching_its_metadata_family(model_pair):
    encoder, decoder = model_pair("edgesam_ros", decoder={"extra_input": "prompt_mode"})
    error = _error(encoder, decoder)
    assert error.expected.startswith("the decoder interface of EdgeSAM")
    assert "EfficientViT" not in error.expected and "prompt_mode [1]" in error.found


def test_wrong_encoder_channels(model_pair):
    encoder, decoder = model_pair("edgesam_ros", encoder={"in_channels": 1})
    error = _error(encoder, decoder)
    assert "image [B, 3, S, S]" in error.expected and "image [1, 1, 256, 256]" in error.found


def test_wrong_point_coords_shape(model_pair):
    encoder, decoder = model_pair("edgesam_ros", decoder={"coord_size": 3})
    error = _error(encoder, decoder)
    assert error.path == str(decoder)
    assert "point_coords [B, N, 2]" in error.expected and "[batch, num_points, 3]" in error.found


def test_embedding_mismatch_between_files(model_pair):
    encoder, decoder = model_pair("edgesam_ros", decoder={"embedding": (16, 16, 16)})
    error = _error(encoder, decoder)
    assert error.path == str(decoder)
    assert "image_embeddings [1, 8, 16, 16]" in error.expected
    assert "image_embeddings [1, 16, 16, 16]" in error.found


def test_decoder_with_fixed_batch_above_one(model_pair):
    encoder, decoder = model_pair("edgesam_ros", decoder={"batch": 2})
    assert "point_coords [1 or dynamic" in _error(encoder, decoder).expected


def test_bad_metadata(model_pair):
    encoder, decoder = model_pair("edgesam_ros",
                                  decoder={"metadata": {"edgesam_ros.family": "yolo"}})
    error = _error(encoder, decoder)
    assert "edgesam_ros.family" in error.expected and "'yolo'" in error.found
    encoder, decoder = model_pair("edgesam_ros",
                                  decoder={"metadata": {"edgesam_ros.pixel_mean": "1,2"}})
    assert "3 number(s)" in _error(encoder, decoder).expected


def test_single_rpn_output_is_rejected(model_pair, tmp_path):
    import onnx

    encoder, decoder = model_pair(
        "edgesam_ros",
        encoder={"proposals": (np.zeros((2, 4), np.float32), np.zeros(2, np.float32))},
    )
    model = onnx.load(str(encoder))
    del model.graph.output[2]
    broken = tmp_path / "one_rpn_output.onnx"
    onnx.save(model, str(broken))
    assert "proposal_boxes and proposal_scores" in _error(broken, decoder).expected


def test_bundled_model_paths(tmp_path):
    with pytest.raises(ModelError, match="edgesam-ros export") as caught:
        bundled_model_paths(tmp_path)
    assert "edgesam_tiny_encoder.onnx" in caught.value.found
    for name in ("edgesam_tiny_encoder.onnx", "edgesam_tiny_decoder.onnx"):
        (tmp_path / name).write_bytes(b"")
    assert bundled_model_paths(tmp_path) == (tmp_path / "edgesam_tiny_encoder.onnx",
                                             tmp_path / "edgesam_tiny_decoder.onnx")


def test_bundled_model_is_recognised_by_its_files(model_pair, bundled_engine):
    from edgesam_ros.engine.bundled import is_bundled_model
    from edgesam_ros.engine.selection import BUNDLED_RULE

    encoder, decoder = bundled_model_paths()
    assert is_bundled_model(encoder, decoder)
    assert not is_bundled_model(*model_pair("edgesam_ros"))
    assert bundled_engine.selection == BUNDLED_RULE
    assert SamEngine(encoder, decoder, CONFIG).selection == BUNDLED_RULE  # same files, any route
    with pytest.raises(ValueError, match=r"selection must be one of .*'family'.*got 'iou'"):
        EngineConfig(selection="iou")
