"""PyTorch EdgeTAM: official checkpoint layout, module sizes, and the pieces we rewrote."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from edgesam_ros.models import CheckpointError  # noqa: E402
from edgesam_ros.models.edgetam import build_edgetam, load_edgetam  # noqa: E402
from edgesam_ros.models.edgetam.position import apply_rope, rope_angles  # noqa: E402

TABLE = Path(__file__).with_name("edgetam_state_dict_keys.txt")


def _table() -> dict[str, tuple[int, ...]]:
    rows = (line.split() for line in TABLE.read_text().splitlines())
    return {k: () if s == "()" else tuple(int(x) for x in s.split(",")) for k, s in rows}


@pytest.fixture(scope="module")
def full():
    torch.manual_seed(0)
    return build_edgetam("edgetam")


def test_state_dict_matches_the_official_key_table(full) -> None:
    ours = {k: tuple(v.shape) for k, v in full.state_dict().items()}
    table = _table()
    assert sorted(set(table) - set(ours)) == []
    assert sorted(set(ours) - set(table)) == []
    assert {k: s for k, s in ours.items() if table[k] != s} == {}


def test_module_sizes_match_the_official_model(full) -> None:
    # Parameter counts of the official model at 9cc44bf (issue 17), in units of 10k.
    expected = {"image_encoder.trunk": 471, "image_encoder.neck": 19, "memory_attention": 296,
                "memory_encoder": 138, "spatial_perceiver": 23, "obj_ptr_proj": 20}
    sizes = {p: round(sum(v.numel() for k, v in full.named_parameters() if k.startswith(p)) / 1e4)
             for p in expected}
    assert sizes == expected
    heads = sum(v.numel() for k, v in full.named_parameters() if k.startswith("sam_"))
    assert round(heads / 1e4) == 422
    assert round(sum(v.numel() for v in full.parameters()) / 1e5) == 139


def test_official_checkpoint_layout_loads_strictly(tmp_path, full) -> None:
    state = {k: torch.randn_like(v.float()).to(v.dtype) if v.is_floating_point() else v
             for k, v in full.state_dict().items()}
    path = tmp_path / "edgetam.pt"
    torch.save({"model": state}, path)
    model = load_edgetam(path)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key])


def test_wrong_model_file_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "micro.pt"
    torch.save({"model": build_edgetam("micro").state_dict()}, path)
    with pytest.raises(CheckpointError, match="does not match EdgeTAM variant 'edgetam'"):
        load_edgetam(path)


def test_real_rope_equals_upstream_complex_rotation() -> None:
    torch.manual_seed(1)
    dim, side = 32, 4
    x = torch.randn(2, 1, side * side, dim)
    angles = rope_angles(dim, side, side)
    # Upstream: view pairs as complex numbers and multiply by polar(1, angle).
    cis = torch.polar(torch.ones_like(angles), angles)
    ref = torch.view_as_real(torch.view_as_complex(x.reshape(2, 1, side * side, -1, 2)) * cis)
    torch.testing.assert_close(apply_rope(x, angles.cos(), angles.sin()), ref.flatten(3))


def test_objects_are_independent_of_batch_mates() -> None:
    """Memory encoding and conditioning of 3 objects at once equal one at a time (the
    perceiver's 2-D path, where upstream's ``.view`` breaks for B > 1, included)."""
    torch.manual_seed(2)
    model = build_edgetam("micro")
    cfg = model.config
    with torch.no_grad():
        _, _, feats, pos = model.encode_image(torch.randn(1, 3, cfg.image_size, cfg.image_size))
        masks = torch.randn(3, 1, 4 * cfg.embedding_size, 4 * cfg.embedding_size)
        binarize = torch.tensor([1.0, 0.0, 1.0])
        memory = model.encode_memory(feats, masks, binarize)
        singles = [model.encode_memory(feats, masks[i:i + 1], binarize[i:i + 1]) for i in range(3)]
        torch.testing.assert_close(memory, torch.cat(singles), rtol=1e-5, atol=1e-5)

        bank = torch.stack([memory, memory.flip(0)], dim=1)  # [3, F=2, T, m]
        tpos = torch.tensor([[6, 0], [6, 1], [6, 5]])
        ptrs = torch.randn(3, 2, cfg.hidden_dim)
        cond = model.condition(feats, pos, bank, tpos, ptrs)
        for i in range(3):
            one = model.condition(feats, pos, bank[i:i + 1], tpos[i:i + 1], ptrs[i:i + 1])
            torch.testing.assert_close(cond[i:i + 1], one, rtol=1e-5, atol=1e-5)


def test_building_never_touches_the_network(monkeypatch) -> None:
    """Upstream builds its trunk with timm's pretrained=True (an ImageNet download)."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access while building EdgeTAM")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert build_edgetam("micro").config.name == "micro"


def test_sine_encoding_equals_upstream_cumsum_form() -> None:
    """SAM 2's PositionEmbeddingSine: cumulative row/column indices normalised by the last one."""
    from edgesam_ros.models.edgetam.position import sine_position_encoding

    h, w, dim = 5, 7, 16
    half = dim // 2
    y = torch.ones(h, w).cumsum(0)
    x = torch.ones(h, w).cumsum(1)
    y = y / (y[-1:, :] + 1e-6) * 2 * torch.pi
    x = x / (x[:, -1:] + 1e-6) * 2 * torch.pi
    dim_t = 10000 ** (2 * (torch.arange(half) // 2) / half)
    px, py = x[..., None] / dim_t, y[..., None] / dim_t
    px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=3).flatten(2)
    py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=3).flatten(2)
    expected = torch.cat((py, px), dim=2).permute(2, 0, 1)
    torch.testing.assert_close(sine_position_encoding(h, w, dim), expected)
