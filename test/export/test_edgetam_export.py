"""EdgeTAM exporter: the four graphs' interfaces, metadata, and parity with PyTorch."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import numpy as np  # noqa: E402
import onnx  # noqa: E402

from edgesam_ros.export.cli import main as cli_main  # noqa: E402
from edgesam_ros.export.edgetam_export import GRAPH_FILES, prepare_edgetam  # noqa: E402


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return prepare_edgetam(None, "micro", random_init=True)


def _sessions(directory, suffix=".onnx"):
    return {g: ort.InferenceSession(str(directory / f.replace(".onnx", suffix)),
                                    providers=["CPUExecutionProvider"])
            for g, f in GRAPH_FILES.items()}


def _run(sess, *args):
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, {n: a.numpy() for n, a in zip(names, args, strict=True)})


def test_interface_and_metadata(edgetam_micro, model) -> None:
    ids = set()
    for graph, name in GRAPH_FILES.items():
        proto = onnx.load(str(edgetam_micro / name))
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta["edgesam_ros.family"] == "edgetam"
        assert meta["edgesam_ros.graph"] == graph
        assert meta["edgesam_ros.image_size"] == "128"
        assert meta["edgesam_ros.memory_tokens"] == str(model.config.memory_tokens)
        ids.add(meta["edgesam_ros.export_id"])
    assert len(ids) == 1
    att = onnx.load(str(edgetam_micro / GRAPH_FILES["memory_attention"])).graph
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in att.input}
    assert dims["memory"] == ["B", "F", 8, 8]
    assert dims["memory_tpos"] == ["B", "F"]
    assert dims["object_pointers"] == ["B", "P", 32]
    # RoPE tables are stored once, not inlined as a constant per use (63 MB vs 16 MB at full size)
    constants = [list(a.t.dims) for n in att.node if n.op_type == "Constant" for a in n.attribute]
    initializers = [list(i.dims) for i in att.initializer]
    h = model.config.embedding_size
    assert [h * h, model.config.hidden_dim // 2] not in constants
    assert initializers.count([h * h, model.config.hidden_dim // 2]) == 2  # cos, sin


@pytest.mark.parametrize("suffix, tol", [(".onnx", 1e-4), (".fp16.onnx", 1e-2)])
def test_every_graph_matches_pytorch(edgetam_micro, model, suffix, tol) -> None:
    """Shapes other than the traced ones (B=3, F=2, P=5, N=1), so dynamic axes are real."""
    sess = _sessions(edgetam_micro, suffix)
    cfg = model.config
    c, h, s = cfg.hidden_dim, cfg.embedding_size, cfg.image_size
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        image = torch.randn(1, 3, s, s, generator=g)
        ref = model.encode_image(image)
        for r, o in zip(ref, _run(sess["image_encoder"], image), strict=True):
            np.testing.assert_allclose(o, r.numpy(), atol=tol, rtol=tol)
        s0, s1, feats, pos = ref

        memory = torch.randn(3, 2, cfg.memory_tokens, cfg.mem_dim, generator=g)
        tpos = torch.tensor([[6, 0], [6, 3], [6, 5]])
        pointers = torch.randn(3, 5, c, generator=g)
        ref = model.condition(feats, pos, memory, tpos, pointers)
        out = _run(sess["memory_attention"], feats, pos, memory, tpos, pointers)[0]
        np.testing.assert_allclose(out, ref.numpy(), atol=tol, rtol=tol)

        cond = torch.randn(3, c, h, h, generator=g)
        args = (cond, torch.tensor([1.0, 0.0, 1.0]), s0, s1, s * torch.rand(3, 1, 2, generator=g),
                torch.tensor([[1.0], [-1.0], [0.0]]))
        for r, o in zip(model.decode(*args), _run(sess["decoder"], *args), strict=True):
            np.testing.assert_allclose(o, r.numpy(), atol=tol, rtol=tol)

        masks = 5 * torch.randn(3, 1, 4 * h, 4 * h, generator=g)
        args = (feats, masks, torch.tensor([1.0, 0.0, 0.0]))
        out = _run(sess["memory_encoder"], *args)[0]
        np.testing.assert_allclose(out, model.encode_memory(*args).numpy(), atol=tol, rtol=tol)


def test_cli_refuses_edgesam_only_options(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        cli_main(["--family", "edgetam", "--random-init", "--int8", "-o", str(tmp_path)])
    assert "neither --int8 nor --rpn" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["--variant", "micro", "--random-init", "-o", str(tmp_path)])
    assert "add --family edgetam" in capsys.readouterr().err
