"""Exporter: ONNX interface per docs/architecture.md, parity with PyTorch, variants."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import numpy as np  # noqa: E402
import onnx  # noqa: E402

from edgesam_ros.export.cli import main as cli_main  # noqa: E402
from edgesam_ros.export.onnx_export import export_onnx, prepare_model  # noqa: E402
from edgesam_ros.export.quantize import session  # noqa: E402

VARIANT = "tiny"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("tiny")
    paths = export_onnx(None, VARIANT, out, random_init=True, rpn=True, fp16=True, int8=True)
    model = prepare_model(None, VARIANT, rpn=True, random_init=True)
    return paths, model


def _decoder_feeds(model, emb, coords, labels, masks=None, has_mask=None):
    b = coords.shape[0]
    h = model.config.embedding_size
    return {
        "image_embeddings": emb,
        "point_coords": coords.astype(np.float32),
        "point_labels": labels.astype(np.float32),
        "mask_input": np.zeros((b, 1, 4 * h, 4 * h), np.float32) if masks is None else masks,
        "has_mask_input": np.zeros(b, np.float32) if has_mask is None else has_mask,
    }


def _image(model, seed=0):
    s = model.config.image_size
    return np.random.default_rng(seed).normal(size=(1, 3, s, s)).astype(np.float32)


def test_interface_names_shapes_and_metadata(exported) -> None:
    paths, model = exported
    cfg = model.config
    h = cfg.embedding_size
    enc, dec = session(paths["encoder"]), session(paths["decoder"])
    assert [(i.name, i.shape) for i in enc.get_inputs()] == [
        ("image", [1, 3, cfg.image_size, cfg.image_size])]
    assert [(o.name, o.shape) for o in enc.get_outputs()] == [
        ("image_embeddings", [1, cfg.embed_dim, h, h]),
        ("proposal_boxes", [cfg.rpn_topk, 4]), ("proposal_scores", [cfg.rpn_topk])]
    assert [(i.name, i.shape) for i in dec.get_inputs()] == [
        ("image_embeddings", [1, cfg.embed_dim, h, h]), ("point_coords", ["B", "N", 2]),
        ("point_labels", ["B", "N"]), ("mask_input", ["B", 1, 4 * h, 4 * h]),
        ("has_mask_input", ["B"])]
    assert [(o.name, o.shape) for o in dec.get_outputs()] == [
        ("scores", ["B", 4]), ("masks", ["B", 4, 4 * h, 4 * h])]
    for path in paths.values():
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert props["edgesam_ros.family"] == "edgesam"
        assert props["edgesam_ros.variant"] == VARIANT
        assert props["edgesam_ros.image_size"] == props["edgesam_ros.prompt_frame"] == "512"
        assert props["edgesam_ros.pixel_mean"] == "123.675,116.28,103.53"
        assert props["edgesam_ros.pixel_std"] == "58.395,57.12,57.375"
        assert props["edgesam_ros.upsample"] == "bicubic"
    assert onnx.load(str(paths["encoder"])).opset_import[0].version >= 17


def test_pytorch_parity(exported) -> None:
    paths, model = exported
    x = _image(model)
    emb, boxes, scores = session(paths["encoder"]).run(None, {"image": x})
    with torch.no_grad():
        ref_emb, feats = model.image_encoder.forward_features(torch.from_numpy(x))
        ref_boxes, ref_scores = model.propose(feats)
    assert np.abs(emb - ref_emb.numpy()).max() < 1e-3
    np.testing.assert_allclose(scores, ref_scores[0].numpy(), atol=1e-5)
    # Random heads give tied scores whose top-k order is arbitrary: compare as sorted sets,
    # leaving out the lowest score, where ties may pick different members.
    def ranked(b, s):
        rows = np.concatenate([-np.round(s, 5)[:, None], np.round(b, 2)], axis=1)
        rows = rows[np.lexsort(rows.T[::-1])]
        return rows[rows[:, 0] < rows[:, 0].max()]
    np.testing.assert_allclose(ranked(boxes, scores), ranked(ref_boxes[0].numpy(),
                               ref_scores[0].numpy()), atol=0.02)

    rng = np.random.default_rng(1)
    coords = rng.uniform(0, 512, (3, 2, 2))
    labels = np.array([[1, -1], [2, 3], [1, 0]], np.float32)
    masks = rng.normal(size=(3, 1, 128, 128)).astype(np.float32)
    has_mask = np.array([0, 0, 1], np.float32)
    out_scores, out_masks = session(paths["decoder"]).run(
        None, _decoder_feeds(model, emb, coords, labels, masks, has_mask))
    pe = model.prompt_encoder
    with torch.no_grad():
        t = torch.from_numpy
        sparse = pe.embed_points(t(coords).float(), t(labels), 512.0)
        dense = pe.embed_masks(t(masks), t(has_mask))
        ref_masks, ref_iou = model.mask_decoder(t(emb), pe.get_dense_pe(), sparse, dense)
    assert np.abs(out_masks - ref_masks.numpy()).max() < 1e-3
    assert np.abs(out_scores - ref_iou.numpy()).max() < 1e-4


def test_decoder_batch_equals_batch_one_and_points_are_dynamic(exported) -> None:
    paths, model = exported
    emb = session(paths["encoder"]).run(["image_embeddings"], {"image": _image(model)})[0]
    dec = session(paths["decoder"])
    rng = np.random.default_rng(2)
    for n in (1, 4):
        coords = rng.uniform(0, 512, (5, n, 2))
        labels = rng.integers(-1, 2, (5, n)).astype(np.float32)
        scores, masks = dec.run(None, _decoder_feeds(model, emb, coords, labels))
        for i in range(5):
            s1, m1 = dec.run(None, _decoder_feeds(model, emb, coords[i:i + 1], labels[i:i + 1]))
            np.testing.assert_allclose(m1[0], masks[i], atol=1e-4)
            np.testing.assert_allclose(s1[0], scores[i], atol=1e-5)


def test_fp16_and_int8_files_run_and_stay_close(exported) -> None:
    paths, model = exported
    x = _image(model)
    ref = session(paths["encoder"]).run(["image_embeddings"], {"image": x})[0]
    scale = np.abs(ref).mean()
    for kind, tol in (("fp16", 0.01), ("int8", 0.15)):
        emb = session(paths[f"encoder_{kind}"]).run(["image_embeddings"], {"image": x})[0]
        assert np.abs(emb - ref).mean() / scale < tol, kind
        coords = np.array([[[100.0, 200.0]]])
        _, masks = session(paths[f"decoder_{kind}"]).run(
            None, _decoder_feeds(model, emb, coords, np.ones((1, 1))))
        assert masks.shape == (1, 4, 128, 128) and np.isfinite(masks).all()


def _op_types(path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def test_graphs_use_the_fast_ops(exported) -> None:
    """Regression guard for the exporter's speed work (module docstrings give the numbers)."""
    paths, _ = exported
    assert "LayerNormalization" in _op_types(paths["encoder"])  # neck norm, one kernel
    int8 = _op_types(paths["encoder_int8"])
    assert "Gelu" in int8 and "Erf" not in int8  # GELU stays one float op between QDQ convs
    decoder = _op_types(paths["decoder"])
    assert "ConvTranspose" not in decoder and "LayerNormalization" in decoder


def test_decoder_graph_matches_the_model_decoder_with_masks() -> None:
    """The re-associated decoder equals MaskDecoder for mixed mask/no-mask batches."""
    from edgesam_ros.export.decoder_graph import DecoderGraph

    torch.set_num_threads(1)
    model = prepare_model(None, VARIANT, random_init=True)
    cfg, pe = model.config, model.prompt_encoder
    h, s = cfg.embedding_size, cfg.image_size
    gen = torch.Generator().manual_seed(4)
    emb = torch.randn(1, cfg.embed_dim, h, h, generator=gen)
    coords = torch.rand(4, 3, 2, generator=gen) * s
    labels = torch.tensor([[1.0, -1, 0], [2, 3, -1], [1, 1, 0], [0, -1, -1]])
    masks = torch.randn(4, 1, 4 * h, 4 * h, generator=gen)
    has_mask = torch.tensor([0.0, 1, 1, 0])
    with torch.no_grad():
        scores, out = DecoderGraph(model)(emb, coords, labels, masks, has_mask)
        sparse = pe.embed_points(coords, labels, float(s))
        ref, ref_scores = model.mask_decoder(emb, pe.get_dense_pe(), sparse,
                                             pe.embed_masks(masks, has_mask))
    assert (out - ref).abs().max() < 1e-5 * max(1.0, float(ref.abs().max()))
    assert (scores - ref_scores).abs().max() < 1e-5


@pytest.mark.parametrize(("mode", "onnx_mode"), [("bicubic", b"cubic"), ("bilinear", b"linear")])
def test_encoder_equals_pytorch_in_its_upsample_mode(tmp_path, mode, onnx_mode) -> None:
    """The neck's x2 resize: ONNX Resize (cubic with PyTorch's a = -0.75, half-pixel) on
    onnxruntime equals F.interpolate in the same mode; the other mode is measurably apart."""
    from edgesam_ros.export.onnx_export import export_encoder

    torch.set_num_threads(1)
    model = prepare_model(None, VARIANT, random_init=True, upsample=mode)
    path = export_encoder(model, tmp_path / "encoder.onnx")
    (resize,) = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Resize"]
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in resize.attribute}
    assert attributes["mode"] == onnx_mode
    assert attributes["coordinate_transformation_mode"] == b"half_pixel"
    if mode == "bicubic":
        assert attributes["cubic_coeff_a"] == pytest.approx(-0.75)
    x = _image(model, seed=5)
    emb = session(path).run(None, {"image": x})[0]
    with torch.no_grad():
        ref = model.image_encoder(torch.from_numpy(x)).numpy()
        model.image_encoder.set_upsample_mode("bilinear" if mode == "bicubic" else "bicubic")
        other = model.image_encoder(torch.from_numpy(x)).numpy()
    assert np.abs(emb - ref).max() < 1e-4
    assert np.abs(emb - other).max() > 1e-2


def test_cli_writes_random_tiny(tmp_path, capsys) -> None:
    assert cli_main(["--variant", "tiny", "--random-init", "--upsample", "bilinear",
                     "-o", str(tmp_path)]) == 0
    assert (tmp_path / "encoder.onnx").exists() and (tmp_path / "decoder.onnx").exists()
    assert "encoder.onnx" in capsys.readouterr().out
    assert not any(o.name.startswith("proposal") for o in session(
        tmp_path / "encoder.onnx").get_outputs())
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "decoder.onnx")).metadata_props}
    assert props["edgesam_ros.upsample"] == "bilinear"
    from edgesam_ros.engine import EngineConfig, SamEngine

    engine = SamEngine(tmp_path / "encoder.onnx", tmp_path / "decoder.onnx",
                       EngineConfig(providers=("cpu",), warmup=False))
    assert engine.signature.upsample == "bilinear"


def test_cli_needs_weights_or_random_init(tmp_path) -> None:
    with pytest.raises(SystemExit):
        cli_main(["-o", str(tmp_path)])
    with pytest.raises(ValueError, match=r"upsample must be one of \('bicubic', 'bilinear'\)"):
        prepare_model(None, VARIANT, random_init=True, upsample="nearest")


def test_export_from_checkpoint_matches_its_weights(tmp_path) -> None:
    from edgesam_ros.models import build_model

    ckpt = tmp_path / "tiny.pth"
    torch.save({"model": build_model(VARIANT, seed=7).state_dict()}, ckpt)
    with pytest.raises(ValueError, match="no RPN weights"):
        export_onnx(ckpt, VARIANT, tmp_path / "rpn", rpn=True)
    paths = export_onnx(ckpt, VARIANT, tmp_path / "out")
    model = prepare_model(ckpt, VARIANT)
    x = _image(model, seed=3)
    emb = session(paths["encoder"]).run(None, {"image": x})
    assert len(emb) == 1
    with torch.no_grad():
        ref = model.image_encoder(torch.from_numpy(x)).numpy()
    assert np.abs(emb[0] - ref).max() < 1e-3
