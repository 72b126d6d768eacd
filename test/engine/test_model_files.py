"""Family detection from the files, and a clear ModelError for every kind of bad file."""

from __future__ import annotations

import logging

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
    encoder, decoder = model_pair("edgesam_ros", encoder={"metadata": {}},
                                  decoder={"metadata": meta})
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


def test_a_directory_is_named_as_one(model_pair, tmp_path):
    _, decoder = model_pair("edgesam_ros")
    error = _error(tmp_path, decoder)
    assert str(error) == (f"{tmp_path}: expected an ONNX model file; found a directory (give the "
                          ".onnx file in it)")


def test_not_onnx(model_pair, tmp_path):
    encoder, _ = model_pair("edgesam_ros")
    junk = tmp_path / "decoder.onnx"
    junk.write_bytes(b"\x89PNG not a model at all")
    error = _error(encoder, junk)
    assert error.path == str(junk) and "cannot load" in error.found


@pytest.mark.parametrize("name", ["pixels", "input", "x.1"])
def test_any_encoder_input_name_is_accepted(model_pair, name):
    """SAM and MobileSAM ship no encoder export: users name its input freely."""
    encoder, decoder = model_pair("edgesam_ros", encoder={"input_name": name})
    engine = SamEngine(encoder, decoder, CONFIG)
    assert engine.signature.encoder_input.name == name
    assert engine.encode(np.zeros((32, 48, 3), np.uint8)).features.shape == (1, 8, 16, 16)


def test_encoder_with_two_inputs_is_refused(model_pair, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    encoder, decoder = model_pair("edgesam_ros")
    model = onnx.load(str(encoder))
    model.graph.input.append(helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1]))
    two = tmp_path / "two_inputs.onnx"
    onnx.save(model, str(two))
    error = _error(two, decoder)
    assert error.path == str(two)
    assert error.expected.startswith("one input [B, 3, S, S] (any name)")
    assert "image [1, 3, 256, 256], scale [1]" in error.found


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
    assert "one input [B, 3, S, S] (any name)" in error.expected
    assert "image [1, 1, 256, 256]" in error.found


def test_wrong_point_coords_shape(model_pair):
    encoder, decoder = model_pair("edgesam_ros", decoder={"coord_size": 3})
    error = _error(encoder, decoder)
    assert error.path == str(decoder)
    assert "point_coords [B, N, 2]" in error.expected and "[batch, num_points, 3]" in error.found


def test_embedding_mismatch_between_files(model_pair):
    encoder, decoder = model_pair("edgesam_ros", decoder={"embedding": (16, 16, 16)})
    error = _error(encoder, decoder)
    assert error.path == str(decoder)
    assert error.expected == (f"image_embeddings matching the image_embeddings [1, 8, 16, 16] "
                              f"of encoder {encoder}")
    assert "image_embeddings [1, 16, 16, 16]" in error.found


def test_decoder_with_fixed_batch_above_one(model_pair):
    encoder, decoder = model_pair("edgesam_ros", decoder={"batch": 2})
    assert "point_coords [1 or dynamic" in _error(encoder, decoder).expected


def test_bad_metadata(model_pair):
    encoder, decoder = model_pair("edgesam_ros",
                                  decoder={"metadata": {"edgesam_ros.family": "yolo"}})
    error = _error(encoder, decoder)
    assert "edgesam_ros.family" in error.expected and "'yolo'" in error.found
    encoder, decoder = model_pair("edgesam_ros", encoder={"metadata": {}},
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


def test_files_of_two_exports_are_refused_naming_both(model_pair):
    encoder, _ = model_pair("edgesam_ros")
    _, decoder = model_pair("edgesam_ros", decoder={
        "metadata": {**onnx_fixtures.PRESETS["edgesam_ros"][1].metadata,
                     "edgesam_ros.variant": "other"}})
    error = _error(encoder, decoder)
    assert error.path == str(decoder)
    assert error.expected == (f"a decoder from the same export as encoder {encoder} "
                              "(edgesam_ros.variant = 'test')")
    assert error.found == "edgesam_ros.variant = 'other'"


def test_efficientvit_encoder_with_a_mobilesam_decoder_is_refused(model_pair):
    """L0 takes 512 x 512 and makes 64 x 64 embeddings, as MobileSAM's 1024 encoder does: the
    shapes fit, the model does not (MobileSAM's decoder would get points in a 512 frame)."""
    encoder, _ = model_pair("efficientvit_l")
    _, decoder = model_pair("mobilesam")
    error = _error(encoder, decoder)
    assert error.path == str(decoder)
    assert error.expected == ("an encoder of 1024 x 1024 beside this MobileSAM (SAM's ONNX "
                              "interface) decoder (64 x 64 embeddings, stride 16)")
    assert error.found.startswith(f"encoder {encoder} takes 512 x 512: the two files are not "
                                  "one model")


@pytest.mark.parametrize(
    ("preset", "decoder", "choice"),
    [("sam_single_mask", {}, "so a lone box (2 tokens) gets the best of 1-3"),
     ("efficientvit_l", {"mask_count": 1}, "the best predicted IoU of all 4 outputs")],
)
def test_single_mask_decoder_warns_at_load(model_pair, caplog, preset, decoder, choice):
    encoder, decoder_path = model_pair(preset, decoder=decoder)
    with caplog.at_level(logging.WARNING, logger="edgesam_ros.engine"):
        engine = SamEngine(encoder, decoder_path, CONFIG)
    assert engine.signature.mask_count == 1
    (warning,) = [r.getMessage() for r in caplog.records if "single mask" in r.getMessage()]
    assert warning.startswith(f"decoder {decoder_path} returns a single mask: its graph chooses "
                              "the mask itself")
    assert choice in warning and "export the decoder with its 4 masks" in warning


def test_four_mask_decoders_do_not_warn(model_pair, caplog):
    with caplog.at_level(logging.WARNING, logger="edgesam_ros.engine"):
        engine = SamEngine(*model_pair("sam"), CONFIG)
    assert engine.signature.mask_count == 4
    assert not [r for r in caplog.records if "single mask" in r.getMessage()]
