"""Engine benchmark: the quick run prints every table and a verdict for each target."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.torch
pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from edgesam_ros.bench.engine_bench import TARGETS, Target, main  # noqa: E402


def test_target_verdicts() -> None:
    at_least = Target("k", "speed", 2.0, True)
    at_most = Target("k", "scaling", 2.5, False)
    assert at_least.verdict(2.0) == "PASS" and at_least.verdict(1.9) == "FAIL"
    assert at_most.verdict(2.5) == "PASS" and at_most.verdict(2.6) == "FAIL"
    assert at_least.verdict(None) == "n/a"


def test_quick_run_prints_targets(tmp_path, capsys) -> None:
    args = ["--quick", "--repeats", "1", "--work-dir", str(tmp_path), "--providers", "cpu,cuda"]
    assert main(args) == 0
    out = capsys.readouterr().out
    for heading in ("### Encoder", "### Decoder", "### Reduced precision", "### Targets"):
        assert heading in out
    table = out.split("### Targets")[1]
    assert table.count("| tiny |") == len(TARGETS)
    assert "PASS" in table or "FAIL" in table
    assert "MMAC per object" in out
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert "skipped: CUDAExecutionProvider" in out

    # The per-provider rows, exercised on the CPU provider with the files just exported.
    import numpy as np

    from edgesam_ros.bench.engine_bench import decoder_feeds, provider_rows
    from edgesam_ros.models.config import get_config

    cfg = get_config("tiny")
    names = {"encoder": "encoder.onnx", "encoder_fp16": "encoder.fp16.onnx",
             "decoder": "decoder.onnx"}
    paths = {k: tmp_path / "tiny" / v for k, v in names.items()}
    size, h = cfg.image_size, cfg.embedding_size
    image = np.zeros((1, 3, size, size), np.float32)
    emb = np.zeros((1, cfg.embed_dim, h, h), np.float32)
    feeds = {n: decoder_feeds(emb, n, size, np.random.default_rng(0)) for n in (1, 2)}
    enc_rows, dec_rows = provider_rows("tiny", cfg, paths, "CPUExecutionProvider", 1, 1, image,
                                       feeds, tmp_path)
    assert [r[3] for r in enc_rows] == ["ORT fp32", "ORT fp16"]
    assert [r[2] for r in dec_rows] == [1, 2] and dec_rows[0][-1] == "1.00x"


@pytest.mark.parametrize("variant", ["tiny", "edgesam"])
def test_decoder_macs_match_pytorchs_flop_count(variant) -> None:
    """The analytic split equals what PyTorch counts on the model's decoder: one object
    costs shared + per-object work, each further object adds the per-object part."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from edgesam_ros.bench.engine_bench import decoder_macs
    from edgesam_ros.models.config import get_config
    from edgesam_ros.models.mask_decoder import MaskDecoder

    cfg = get_config(variant)
    decoder = MaskDecoder(cfg).eval()
    c, h = cfg.embed_dim, cfg.embedding_size
    image = torch.randn(1, c, h, h)

    def macs(objects: int) -> int:
        sparse = torch.randn(objects, 2, c)
        # The math backend's matmuls are counted; the fused CPU kernel is not.
        with (torch.inference_mode(), sdpa_kernel(SDPBackend.MATH),
              FlopCounterMode(display=False) as counter):
            decoder(image, torch.randn(1, c, h, h), sparse, torch.zeros(1, c, h, h))
        return counter.get_total_flops() // 2

    expected = decoder_macs(cfg)
    one, three = macs(1), macs(3)
    assert one == expected.shared + expected.per_object
    assert three - one == 2 * expected.per_object
    assert 7.5 < expected.floor(10) < 8.5
