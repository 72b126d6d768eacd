"""EdgeSAM PyTorch modules: checkpoint compatibility, sizes, fusion, prompt semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from edgesam_ros.models import build_model, get_config  # noqa: E402
from edgesam_ros.models.edge_sam import jitter_batchnorm  # noqa: E402
from edgesam_ros.models.rpn import make_anchors  # noqa: E402

KEY_TABLE = Path(__file__).with_name("edgesam_state_dict_keys.txt")


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_edgesam_state_dict_matches_official_key_table() -> None:
    expected = {}
    for line in KEY_TABLE.read_text().splitlines():
        key, _, shape = line.partition(" ")
        expected[key] = tuple(int(v) for v in shape.strip("()").split(",") if v)
    ours = {k: tuple(v.shape) for k, v in build_model("edgesam").state_dict().items()}
    assert sorted(ours) == sorted(expected)
    assert ours == expected


def test_edgesam_loads_its_own_state_dict_strictly() -> None:
    model = build_model("edgesam")
    model.load_state_dict(build_model("edgesam", seed=1).state_dict(), strict=True)


def test_edgesam_parameter_counts_match_upstream() -> None:
    model = build_model("edgesam")
    assert _params(model.prompt_encoder) == 6_220
    assert _params(model.mask_decoder) == 4_058_340
    assert abs(_params(model.image_encoder) - 5.52e6) < 0.01e6


def test_tiny_variant_fits_the_bundle_budget() -> None:
    model = build_model("tiny")
    assert _params(model) < 3.0e6


def test_fused_encoder_equals_unfused(micro) -> None:
    model = jitter_batchnorm(build_model(micro, seed=0), seed=0)
    x = torch.randn(2, 3, micro.image_size, micro.image_size)
    with torch.no_grad():
        ref, ref_feats = model.image_encoder.forward_features(x)
        model.fuse()
        out, feats = model.image_encoder.forward_features(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.image_encoder.modules())
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    for a, b in zip(feats, ref_feats, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_encoder_output_shapes(micro) -> None:
    model = build_model(micro, seed=0)
    emb, (s8, _, s32) = model.image_encoder.forward_features(
        torch.zeros(1, 3, micro.image_size, micro.image_size))
    s = micro.image_size
    assert emb.shape == (1, micro.embed_dim, s // 16, s // 16)
    assert s8.shape[1:] == (micro.widths[1], s // 8, s // 8)
    assert s32.shape[1:] == (micro.widths[3], s // 32, s // 32)


def test_point_prompts_get_a_padding_point_and_label_semantics(micro) -> None:
    pe = build_model(micro, seed=0).prompt_encoder
    coords = torch.tensor([[[10.0, 20.0], [30.0, 40.0]]])
    sparse, dense = pe(points=(coords, torch.tensor([[1.0, -2.0]])))
    assert sparse.shape == (1, 3, micro.embed_dim)
    torch.testing.assert_close(sparse[0, 1], torch.zeros(micro.embed_dim))
    torch.testing.assert_close(sparse[0, 2], pe.not_a_point_embed.weight[0])
    assert dense.shape == (1, micro.embed_dim, micro.embedding_size, micro.embedding_size)
    boxes_only, _ = pe(boxes=torch.tensor([[5.0, 6.0, 50.0, 60.0]]))
    assert boxes_only.shape == (1, 2, micro.embed_dim)


def test_mask_input_with_has_mask_zero_equals_no_mask(micro) -> None:
    pe = build_model(micro, seed=0).prompt_encoder
    masks = torch.randn(3, 1, *pe.mask_input_size)
    mixed = pe.embed_masks(masks, torch.tensor([0.0, 1.0, 0.0]))
    torch.testing.assert_close(mixed[0], pe.no_mask_embed.weight.reshape(-1, 1, 1).expand_as(
        mixed[0]))
    torch.testing.assert_close(mixed[1], pe.embed_masks(masks[1:2])[0])


def test_batched_decoding_equals_one_prompt_at_a_time(micro) -> None:
    model = build_model(micro, seed=0)
    image = torch.randn(1, 3, micro.image_size, micro.image_size)
    coords = torch.rand(4, 2, 2) * micro.image_size
    labels = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
    with torch.no_grad():
        masks, iou = model.predict(image, points=(coords, labels))
        for i in range(4):
            m1, i1 = model.predict(image, points=(coords[i:i + 1], labels[i:i + 1]))
            torch.testing.assert_close(m1[0], masks[i], atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(i1[0], iou[i], atol=1e-5, rtol=1e-4)
    assert masks.shape == (4, 4, 4 * micro.embedding_size, 4 * micro.embedding_size)


def test_training_backward_runs(micro) -> None:
    model = build_model(micro, seed=0).train()
    image = torch.randn(2, 3, micro.image_size, micro.image_size)
    emb = model.image_encoder(image)
    sparse, dense = model.prompt_encoder(boxes=torch.tensor([[1.0, 2, 60, 70], [3, 4, 90, 100]]))
    masks, iou = model.mask_decoder(emb, model.prompt_encoder.get_dense_pe(), sparse, dense)
    (masks.mean() + iou.mean()).backward()
    assert model.image_encoder.features[0][0].c.weight.grad is not None


def test_anchors_follow_mmdet_layout() -> None:
    cfg = get_config("edgesam", rpn=True)
    anchors = make_anchors(cfg)
    assert anchors.shape == (9 * sum((1024 // s) ** 2 for s in cfg.rpn_strides), 4)
    torch.testing.assert_close(anchors[0], torch.tensor([-12.0, -12.0, 20.0, 20.0]))
    torch.testing.assert_close(anchors[9], anchors[0] + torch.tensor([8.0, 0.0, 8.0, 0.0]))


def test_rpn_proposals_lie_in_the_frame(micro) -> None:
    model = build_model(micro, seed=0)
    with torch.no_grad():
        _, feats = model.image_encoder.forward_features(
            torch.randn(1, 3, micro.image_size, micro.image_size))
        boxes, scores = model.propose(feats)
    assert boxes.shape == (1, micro.rpn_topk, 4) and scores.shape == (1, micro.rpn_topk)
    assert boxes.min() >= 0 and boxes.max() <= micro.image_size
    assert torch.all(boxes[..., 2:] >= boxes[..., :2])
    assert torch.all(scores[:, :-1] >= scores[:, 1:])
